"""The federation: practices compared like for like, and one page linking their weekly reports.

Two products, one comparison:

- :func:`compare_practices` (pure) puts a federation's practices side by side for each week,
  month or quarter: NHS CBT outcome counts from their own calls
  (:func:`demand.like_for_like.cbt_outcomes`, so practices on different phone systems are
  compared on the same definitions, and each row says which system its figures come from and
  what that system cannot tell), rates per 1,000 patients (:mod:`demand.rates`), PCN and
  federation totals (sums of counts), each practice's most alike peers (:mod:`demand.peers`)
  and its percentile among them (and among England's practices when the national CBT table
  is in the store). :func:`comparison_table` is what leaves the practice: suppressed
  (:mod:`demand.suppression`). ``frontdoor benchmark --federation`` prints it.
- :func:`write_federation_report` writes each practice's weekly report, in parallel with
  progress, and one federation page: a row per practice (demand per 1,000, answered share, time
  to get through, same-day pressure next week, peer position) linking to its report, the PCN
  and federation totals, a funnel plot of answered shares, and which phone system each
  practice's figures come from. ``frontdoor report --federation`` writes it.
"""

from __future__ import annotations

import concurrent.futures as _cf
import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from demand.like_for_like import CBT_CATEGORIES, cbt_outcomes, system_notes
from demand.metrics import period_bounds
from demand.national.cbt import read_national_cbt
from demand.peers import PeerError, cbt_measures, explain_peers, national_position, nearest_peers, percentile_among
from demand.rates import rates_per_1000, roll_up
from demand.suppression import Lines, suppress
from demand.variation import VariationError, funnel, funnel_curve
from telephony.practices import read_registry, registry_history
from telephony.store import Store, open_store
from telephony.timeutil import DEFAULT_TZ

from reports import text as T
from reports.charts import federation_charts
from reports.errors import ReportDataError
from reports.html import CSS, _table, e, render_weekly_html
from reports.inputs import HISTORY_WEEKS, read_report_inputs
from reports.week import ReportWeek, report_week
from reports.weekly import WeeklyReport, build_weekly_report, default_report_name, _now_text, _write_html

__all__ = [
    "COUNTS",
    "Comparison",
    "federation_members",
    "compare_practices",
    "comparison_table",
    "format_comparison",
    "read_federation_comparison",
    "PracticeSummary",
    "FederationPage",
    "build_federation_page",
    "render_federation_html",
    "FederationFiles",
    "write_federation_report",
]

#: The CBT counts compared (inbound and its parts).
COUNTS: tuple[str, ...] = ("inbound_calls", *CBT_CATEGORIES, "other")
_PARTS = Lines(parts={"inbound_calls": (*CBT_CATEGORIES, "other")})
_RATES = {
    "inbound_calls_per_1000": ("inbound_calls",),
    "answered_share": ("answered", "inbound_calls"),
    "ended_ivr_share": ("ended_ivr", "inbound_calls"),
    "callback_requested_share": ("callback_requested", "inbound_calls"),
    "missed_share": ("missed", "inbound_calls"),
}


def federation_members(registry: pd.DataFrame, federation: str) -> list[str]:
    """The practices of a federation (its name as the registry writes it, any case).

    Raises
    ------
    ReportDataError
        No practice in that federation: names the federations the registry knows.
    """
    names = registry["federation"].astype("string")
    want = str(federation).strip().casefold()
    hit = registry.loc[names.str.casefold() == want, "practice_id"].astype(str)
    if hit.empty:
        known = sorted(set(names.dropna()))
        raise ReportDataError(
            f"No practice in the federation {federation!r}: the registry knows "
            + (", ".join(repr(k) for k in known) if known else "no federation (import practices first: 'frontdoor practices import')")
            + "."
        )
    return sorted(hit.unique())


@dataclass
class Comparison:
    """Practices side by side (numbers, not yet suppressed).

    Attributes
    ----------
    practices : pandas.DataFrame
        One row per practice and period: ``practice_id, name, pcn_code, pcn_name, period``,
        :data:`COUNTS`, ``list_size``, ``inbound_calls_per_1000`` and the shares of inbound
        calls, ``source_format``, ``cannot_tell``, ``none_recorded``.
    totals : pandas.DataFrame
        PCN and federation rows (``level`` = ``pcn`` / ``federation``) of the same counts and
        rates, sums of counts over sums of list sizes.
    peers : pandas.DataFrame
        One row per practice: ``practice_id, peers`` (ODS codes, most alike first),
        ``alike_on`` (the features that made the group alike), ``peer_percentile`` (answered
        share among the peers with figures, latest period), ``england_percentile`` (answered
        share among England's practices in the national CBT table's latest month; NaN
        without one), ``peer_note``.
    systems : pandas.DataFrame
        :func:`demand.like_for_like.system_notes`: what each practice's system cannot tell.
    """

    practices: pd.DataFrame
    totals: pd.DataFrame
    peers: pd.DataFrame
    systems: pd.DataFrame
    period: str = "week"


def _shares(frame: pd.DataFrame) -> pd.DataFrame:
    inbound = frame["inbound_calls"].astype("float64")
    for c in CBT_CATEGORIES:
        frame[f"{c}_share"] = frame[c].astype("float64") / inbound.where(inbound > 0)
    return frame


def _peer_rows(features: pd.DataFrame, practices: Sequence[str], latest: pd.DataFrame, k: int,
               weights: Mapping[str, float] | None, national: pd.DataFrame | None, registry: pd.DataFrame) -> pd.DataFrame:
    measures = cbt_measures(national, registry) if national is not None and len(national) else None
    values = latest.set_index("practice_id")["answered_share"]
    rows = []
    for p in practices:
        row = {"practice_id": p, "peers": "", "alike_on": "", "peer_percentile": np.nan, "england_percentile": np.nan, "peer_note": ""}
        try:
            peers = nearest_peers(features, p, k=k, weights=weights)
        except PeerError as exc:
            row["peer_note"] = str(exc)
            rows.append(row)
            continue
        ids = peers["practice_id"].tolist()
        row["peers"] = ", ".join(ids)
        ex = explain_peers(features, p, ids, weights)
        row["alike_on"] = ", ".join(ex.loc[ex["verdict"] == "made them alike", "feature"])
        with_figures = [q for q in ids if q in values.index and pd.notna(values[q])]
        if with_figures:
            row["peer_percentile"] = percentile_among(values.loc[[p, *with_figures]], p) if p in values.index else np.nan
        if len(with_figures) < len(ids):
            row["peer_note"] = f"{len(ids) - len(with_figures)} of {len(ids)} peers have no call figures here"
        if measures is not None and p in set(measures["practice_id"]):
            pos = national_position(measures, p, ids).set_index("measure")
            row["england_percentile"] = pos.loc["answered_share", "england_percentile"]
            if not with_figures and "peers_percentile" in pos.columns:
                row["peer_percentile"] = pos.loc["answered_share", "peers_percentile"]
        rows.append(row)
    return pd.DataFrame(rows, columns=["practice_id", "peers", "alike_on", "peer_percentile", "england_percentile", "peer_note"])


def compare_practices(
    calls: pd.DataFrame,
    registry: pd.DataFrame,
    *,
    period: str = "week",
    peers: int = 5,
    weights: Mapping[str, float] | None = None,
    features: pd.DataFrame | None = None,
    national: pd.DataFrame | None = None,
    tz: str = DEFAULT_TZ,
) -> Comparison:
    """Compare practices like for like: CBT outcomes, rates per 1,000, totals, peers.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls of the practices compared, over the periods to compare.
    registry : pandas.DataFrame
        The registry's dated rows (:func:`telephony.practices.registry_history`): list sizes
        as of each period, PCN, federation, names.
    period : {"day", "week", "month", "quarter"}
    peers : int
        Peers per practice.
    weights : mapping, optional
        Peer feature weights (:data:`demand.peers.DEFAULT_WEIGHTS`).
    features : pandas.DataFrame, optional
        Peer features of the practices to choose peers from (default: the latest registry
        row of each practice in ``registry``, England's when the registry holds them).
    national : pandas.DataFrame, optional
        The national CBT table: adds England percentiles.
    tz : str

    Returns
    -------
    Comparison
    """
    outcomes = cbt_outcomes(calls, period, tz, bands=False)
    if outcomes.empty:
        raise ReportDataError("No inbound calls to compare in the period.")
    rated = rates_per_1000(outcomes, registry, count_columns=["inbound_calls"])
    latest_reg = registry.sort_values("valid_from", na_position="first", kind="stable").groupby("practice_id", sort=True).last().reset_index() \
        if "valid_from" in registry.columns else registry
    names = latest_reg.set_index("practice_id")
    rated.insert(1, "name", rated["practice_id"].map(names["name"]) if "name" in names.columns else None)
    for c in ("pcn_code", "pcn_name"):
        rated.insert(2 if c == "pcn_code" else 3, c, rated["practice_id"].map(names[c]) if c in names.columns else None)
    rated = _shares(rated)
    # a category the practice's system cannot tell is not a comparable share (it is zero, or
    # counted elsewhere): withheld rather than shown as a figure to compare
    for c in CBT_CATEGORIES:
        blind = rated["cannot_tell"].str.contains(c, regex=False)
        rated.loc[blind, f"{c}_share"] = np.nan
    totals = []
    for level in ("pcn", "federation"):
        t = roll_up(outcomes, registry, level, count_columns=list(COUNTS))
        t = t.drop(columns=[f"{c}_per_1000" for c in COUNTS if c != "inbound_calls"])
        t.insert(0, "level", level)
        totals.append(_shares(t))
    totals_frame = pd.concat(totals, ignore_index=True)
    feats = features if features is not None else latest_reg
    last = rated[rated["period"] == rated["period"].max()]
    practices = sorted(rated["practice_id"].unique())
    peer_frame = _peer_rows(feats, practices, last, peers, weights, national, latest_reg)
    return Comparison(rated.reset_index(drop=True), totals_frame, peer_frame, system_notes(outcomes), period)


def comparison_table(comparison: Comparison) -> pd.DataFrame:
    """The comparison as it may leave the practices: one table, suppressed.

    Practice rows, then PCN and federation rows, per period. Counts under 5 are ``"<5"``;
    cells that would let them be worked out (from the inbound total, or from the PCN or
    federation total) and rates made from hidden counts are ``"*"``.

    Returns
    -------
    pandas.DataFrame
        ``period, level, pcn, practice_id, name, system``, the counts, ``list_size``,
        ``per_1000`` (inbound calls per 1,000 patients), the shares, ``cannot_tell``,
        ``peers``, ``alike_on``, ``peer_percentile``, ``england_percentile``.
    """
    p = comparison.practices.merge(comparison.peers, on="practice_id", how="left")
    lines = Lines(parts=_PARTS.parts, groups=[("period",), ("period", "pcn_code")])
    shown_p = suppress(p, list(COUNTS), lines, rates={k: v for k, v in _RATES.items() if k in p.columns})
    shown_p.insert(1, "level", "practice")
    t = comparison.totals
    shown_t = suppress(t, list(COUNTS), _PARTS, rates={k: v for k, v in _RATES.items() if k in t.columns})
    shown_t["practice_id"] = ""
    shown_t["name"] = np.where(shown_t["level"] == "pcn", shown_t["pcn_name"].astype(object), shown_t["federation"].astype(object)) \
        if "federation" in shown_t.columns else shown_t["pcn_name"]
    out = pd.concat([shown_p, shown_t], ignore_index=True)
    out["pcn"] = out["pcn_code"]
    out = out.rename(columns={"source_format": "system", "inbound_calls_per_1000": "per_1000"})
    cols = ["period", "level", "pcn", "practice_id", "name", "system", *COUNTS, "list_size", "per_1000",
            *[f"{c}_share" for c in CBT_CATEGORIES], "cannot_tell", "peers", "alike_on", "peer_percentile", "england_percentile"]
    for c in cols:
        if c not in out.columns:
            out[c] = None
    order = {"practice": 0, "pcn": 1, "federation": 2}
    out["_o"] = out["level"].map(order)
    out = out.sort_values(["period", "_o", "pcn", "practice_id"], kind="stable", na_position="last")
    return out[cols].reset_index(drop=True)


def format_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`comparison_table` for a terminal: dates as days, rates to one decimal, shares and
    percentiles as whole percentages; suppressed cells (``<5``, ``*``) as they are."""
    out = table.drop(columns=["alike_on", "england_percentile"]).copy()
    out["period"] = pd.to_datetime(out["period"]).dt.strftime("%Y-%m-%d")

    def shown(fmt):
        return lambda v: v if isinstance(v, str) else ("" if v is None or pd.isna(v) else fmt(v))

    out["per_1000"] = out["per_1000"].map(shown(lambda v: f"{v:.1f}"))
    for c in [c for c in out.columns if c.endswith("_share")]:
        out[c] = out[c].map(shown(lambda v: f"{v:.1%}"))
    out["peer_percentile"] = out["peer_percentile"].map(shown(lambda v: f"{v:.0f}th"))
    out["list_size"] = out["list_size"].map(shown(lambda v: f"{int(v)}"))
    return out.rename(columns={c: c.replace("_share", "_%") for c in out.columns if c.endswith("_share")}).fillna("")


def read_federation_comparison(
    store: Store,
    federation: str,
    first_date,
    last_date,
    *,
    period: str = "week",
    peers: int = 5,
    weights: Mapping[str, float] | None = None,
    tz: str = DEFAULT_TZ,
) -> Comparison:
    """:func:`compare_practices` for a federation's practices, read from the store.

    Peers are chosen among every practice of the registry (England's, once imported); the
    national CBT table, when the store has one, adds England percentiles.
    """
    history = registry_history(store)
    members = federation_members(read_registry(store), federation)
    start, end = period_bounds(first_date, last_date)  # the one reading of "from ... to ..., inclusive"
    calls = store.read_calls(members, start, end, columns=["practice_id", "start_utc", "source_format", "direction", "outcome", "wait_s"])
    if calls.empty:
        raise ReportDataError(f"No calls from {first_date} to {last_date} for the practices of {federation} ({', '.join(members)}).")
    national = read_national_cbt(store)
    return compare_practices(calls, history, period=period, peers=peers, weights=weights,
                             national=national if len(national) else None, tz=tz)


# ============================================================================ the page


@dataclass
class PracticeSummary:
    """What the federation page shows of one practice's weekly report (picklable)."""

    practice_id: str
    name: str | None
    report_file: str
    calls: float | None = None
    people: float | None = None
    ttg_p50_s: float | None = None
    pressure_p: float | None = None
    pressure_session: str | None = None
    pressure_note: str | None = None


def _summary(report: WeeklyReport, file_name: str) -> PracticeSummary:
    def value(key):
        try:
            return report.headline.figure(key).value
        except KeyError:
            return None

    s = PracticeSummary(report.practice_id, report.practice_name, file_name, value("calls"), value("people"), value("ttg_p50_s"))
    pr = report.next_week.pressure
    if pr is not None and len(pr):
        top = pr.sort_values("p_exceed", ascending=False, kind="stable").iloc[0]
        s.pressure_p = float(top["p_exceed"])
        s.pressure_session = f"{pd.Timestamp(top['date']):%a %d %b} {top['session']}"
    else:
        s.pressure_note = "; ".join(report.next_week.notes[:1]) if report.next_week.notes else "no same-day forecast"
    return s


def _one_report(store_root: str, practice: str, week_iso: str, out_dir: str, model: str, history_weeks: int, tz: str,
                generated: str) -> PracticeSummary:
    """Build and write one practice's weekly report (module level: runs in a worker process)."""
    store = open_store(store_root)
    week = report_week(week_iso)
    inputs = read_report_inputs(store, [practice], week, history_weeks, tz)
    report = build_weekly_report(inputs, practice, model, True, generated)
    name = default_report_name(practice, week)
    _write_html(Path(out_dir) / name, render_weekly_html(report))
    return _summary(report, name)


@dataclass
class FederationPage:
    """The federation page as plain data (render with :func:`render_federation_html`)."""

    federation: str
    week: ReportWeek
    rows: pd.DataFrame  # one per practice, suppressed for display
    totals: pd.DataFrame  # PCN and federation rows, suppressed
    funnel: pd.DataFrame | None
    curve: pd.DataFrame | None
    systems: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    generated: str | None = None
    tz: str = DEFAULT_TZ


def build_federation_page(federation: str, week: ReportWeek, comparison: Comparison, summaries: Sequence[PracticeSummary],
                          generated: str | None = None) -> FederationPage:
    """Assemble the page from the week's comparison and the practices' report summaries (pure).

    Suppression: the CBT counts and their rates go through :func:`comparison_table`; the
    people who rang are a count too (under 5: ``"<5"``, their rate withheld); a time to get
    through is withheld where the practice's inbound calls are hidden.
    """
    table = comparison_table(comparison)
    prac = table[table["level"] == "practice"].copy()
    by_id = {s.practice_id: s for s in summaries}
    prac["report_file"] = prac["practice_id"].map(lambda p: by_id[p].report_file if p in by_id else "")
    people = prac["practice_id"].map(lambda p: by_id[p].people if p in by_id else None).astype("float64")
    sizes = pd.to_numeric(comparison.practices.set_index("practice_id")["list_size"], errors="coerce")
    prac["people"] = people.to_numpy()
    prac["people_per_1000"] = (people / prac["practice_id"].map(sizes).astype("float64") * 1000).to_numpy()
    prac = suppress(prac, ["people"], rates={"people_per_1000": ("people",)})
    ttg = prac["practice_id"].map(lambda p: by_id[p].ttg_p50_s if p in by_id else None)
    prac["ttg_p50_s"] = np.where(prac["inbound_calls"].isin(["<5", "*"]), "*", ttg.astype(object))
    prac["pressure_p"] = prac["practice_id"].map(lambda p: by_id[p].pressure_p if p in by_id else None)
    prac["pressure_session"] = prac["practice_id"].map(lambda p: (by_id[p].pressure_session or by_id[p].pressure_note) if p in by_id else None)
    notes = []
    fun = curve = None
    nums = comparison.practices
    try:
        fun = funnel(nums, "answered", "inbound_calls")
        hidden = set(prac.loc[prac["answered"].isin(["<5", "*"]) | prac["inbound_calls"].isin(["<5", "*"]), "practice_id"])
        fun = fun[~fun["practice_id"].isin(hidden)]
        curve = funnel_curve(float(fun["target"].iloc[0]), nums["inbound_calls"].to_numpy())
        outside = fun[fun["flag"] != ""]
        if len(outside) > len(fun) / 2:
            notes.append("Most practices fall outside the funnel's limits: they differ by more than chance, so the limits "
                         "understate real variation (over-dispersion); read outliers as questions, not verdicts.")
    except (VariationError, IndexError) as exc:  # a page without a funnel is still a page
        notes.append(f"No funnel plot: {exc}")
    return FederationPage(federation, week, prac.reset_index(drop=True), table[table["level"] != "practice"].reset_index(drop=True),
                          fun, curve, comparison.systems, notes, generated)


def _cell(v, kind: str) -> str:
    if isinstance(v, str) and v in ("<5", "*"):
        return e(v)
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return T.DASH
    if kind == "count":
        return T.count(v)
    if kind == "share":
        return T.share(v)
    if kind == "seconds":
        return T.duration_short(v)
    if kind == "decimal":
        return T.ratio(v, 1)
    if kind == "pct":
        return f"{float(v):.0f}th"
    return e(v)


def render_federation_html(page: FederationPage, charts: dict | None = None) -> str:
    """The federation page: one self-contained HTML document linking each practice's report."""
    if charts is None:
        charts = federation_charts(page)
    head = [("Practice", "text"), ("PCN", "text"), ("Calls", ""), ("Calls per 1,000", ""), ("People per 1,000", ""),
            ("Answered", ""), ("Time to get through (median)", ""), ("Same-day pressure next week", "text"),
            ("Peer position (answered)", ""), ("Phone system", "text")]
    rows = []
    for _, r in page.rows.iterrows():
        name = r["name"] if isinstance(r["name"], str) and r["name"] else r["practice_id"]
        link = f'<a href="{e(r["report_file"])}">{e(name)}</a> <span class="small">{e(r["practice_id"])}</span>' if r["report_file"] else e(name)
        p = r["pressure_p"]
        pressure = T.DASH if p is None or pd.isna(p) else f"{T.share(p)} chance of too few slots, {e(r['pressure_session'])}"
        if (p is None or pd.isna(p)) and r["pressure_session"]:
            pressure = e(r["pressure_session"])
        peer = _cell(r["peer_percentile"], "pct")
        if r["peers"]:
            peer += f'<br><span class="small">among {e(r["peers"])}</span>'
        system = e(r["system"]) + (f'<br><span class="small">cannot tell: {e(r["cannot_tell"])}</span>' if r["cannot_tell"] else "")
        rows.append([(link, "text"), (e(r["pcn"]), "text"), (_cell(r["inbound_calls"], "count"), "num"),
                     (_cell(r["per_1000"], "decimal"), "num"), (_cell(r["people_per_1000"], "decimal"), "num"),
                     (_cell(r["answered_share"], "share"), "num"), (_cell(r["ttg_p50_s"], "seconds"), "num"),
                     (pressure, "text"), (peer, "num"), (system, "text")])
    tot_rows = []
    for _, r in page.totals.iterrows():
        tot_rows.append([(e(r["name"]), "text"), (e(r["level"]), "text"), (_cell(r["inbound_calls"], "count"), "num"),
                         (_cell(r["list_size"], "count"), "num"), (_cell(r["per_1000"], "decimal"), "num"),
                         (_cell(r["answered_share"], "share"), "num"), (_cell(r["ended_ivr_share"], "share"), "num"),
                         (_cell(r["callback_requested_share"], "share"), "num"), (_cell(r["missed_share"], "share"), "num")])
    sys_rows = [[(e(s["practice_id"]), "text"), (e(s["source_format"]), "text"), (e(s["category"].replace("_", " ")), "text"), (e(s["why"]), "text")]
                for _, s in page.systems.iterrows()]
    fig = charts.get("funnel")
    parts = [
        f"<header><h1>{e(page.federation)}</h1><p>{e(page.week.title)} · {len(page.rows)} practices</p>"
        "<p>Federation page: each practice against the others on the same definitions, with a link to its weekly report.</p></header>",
        "<section><h2>Practices</h2>",
        _table(head, rows, "federation"),
        '<p class="method">Calls are NHS England\u2019s cloud-telephony (CBT) definitions derived from each practice\u2019s own calls: '
        "inbound calls on all lines; answered; call-back requested is not answered; voicemail and queue hang-ups are missed. "
        "Rates per 1,000 registered patients use the list size of the week. Peer position: the percentile of the answered share "
        "among the practice\u2019s most alike practices (age, deprivation, rurality, students, care homes, list size), not a rank. "
        "Counts under 5 are shown as &lt;5; * marks a figure withheld so that a small count cannot be worked out.</p></section>",
        "<section><h2>PCN and federation</h2>",
        _table([("Group", "text"), ("Level", "text"), ("Calls", ""), ("Patients", ""), ("Calls per 1,000", ""), ("Answered", ""),
                ("Ended in IVR", ""), ("Call-back requested", ""), ("Missed", "")], tot_rows, "totals"),
        '<p class="method">Group figures are sums of the practices\u2019 counts over the sum of their list sizes, never averages of rates.</p></section>',
        "<section><h2>Answered share against call volume</h2>",
        (f'<figure><img src="{fig.data_uri}" alt="{e(fig.alt)}" width="{fig.width}" height="{fig.height}"><figcaption>'
         "Funnel plot: each practice\u2019s answered share against its calls; the lines are the 95% and 99.8% limits chance alone "
         "would give around the federation\u2019s figure.</figcaption></figure>") if fig else '<p class="note">No funnel plot this week.</p>',
        "".join(f'<p class="note">{e(n)}</p>' for n in page.notes),
        "</section><section><h2>Phone systems: what cannot be compared</h2>",
        _table([("Practice", "text"), ("System", "text"), ("Category", "text"), ("Why", "text")], sys_rows, "systems")
        if sys_rows else "<p>Every practice\u2019s system records all four CBT categories.</p>",
        "</section>",
        "<footer>" + e("Made by Frontdoor from the practices' phone and appointment exports. Callers are pseudonymised at import: "
                       f"no phone number, name or staff identity is in this page. Times are local ({page.tz})."
                       + (f" Generated {page.generated}." if page.generated else "")) + "</footer>",
    ]
    title = f"{page.federation}: federation page, {page.week.title}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>\n"
    )


@dataclass
class FederationFiles:
    """What :func:`write_federation_report` wrote."""

    federation: str
    week: ReportWeek
    page: Path
    reports: dict[str, Path]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "federation"


def write_federation_report(
    store: Store,
    federation: str,
    week: ReportWeek | str | _dt.date,
    out_dir: str | Path | None = None,
    *,
    workers: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    model: str = "auto",
    peers: int = 5,
    history_weeks: int = HISTORY_WEEKS,
    tz: str = DEFAULT_TZ,
) -> FederationFiles:
    """Write each practice's weekly report and the federation page linking them.

    Parameters
    ----------
    store : telephony.store.Store
    federation : str
        The federation's name in the registry.
    week : str, date or ReportWeek
    out_dir : str or Path, optional
        Folder for the page and the reports (default: the current folder).
    workers : int, optional
        Processes building reports at once (default: the machine's cores, at most one per
        practice); 1 builds them one after the other in this process.
    progress : callable, optional
        Called as ``progress(done, total, practice_id)`` after each practice's report.
    model, peers, history_weeks, tz
        As :func:`reports.weekly.build_weekly_report` and :func:`compare_practices`.

    Returns
    -------
    FederationFiles
    """
    week = report_week(week)
    members = federation_members(read_registry(store), federation)
    out = Path(out_dir) if out_dir is not None else Path(".")
    out.mkdir(parents=True, exist_ok=True)
    generated = _now_text()
    args = [(str(store.root), p, week.iso, str(out), model, history_weeks, tz, generated) for p in members]
    n = len(args)
    workers = max(1, min(workers or os.cpu_count() or 1, n))
    summaries: list[PracticeSummary] = []
    if workers == 1:
        for i, a in enumerate(args, start=1):
            summaries.append(_one_report(*a))
            if progress:
                progress(i, n, a[1])
    else:
        with _cf.ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_one_report, *a): a[1] for a in args}
            for i, f in enumerate(_cf.as_completed(futures), start=1):
                summaries.append(f.result())
                if progress:
                    progress(i, n, futures[f])
    summaries.sort(key=lambda s: s.practice_id)
    comparison = read_federation_comparison(store, federation, week.start, week.last,
                                            period="week", peers=peers, tz=tz)
    page = build_federation_page(federation, week, comparison, summaries, generated)
    path = out / f"frontdoor-federation-{_slug(federation)}-{week.iso}.html"
    _write_html(path, render_federation_html(page))
    return FederationFiles(federation, week, path, {s.practice_id: out / s.report_file for s in summaries})
