"""Queue metrics per local-time interval, and NHS England's GP-contract telephony metrics.

Pure functions over a DataFrame of canonical calls (:mod:`telephony.schema`), one practice or
several; no I/O. Everything is grouped and counted in one pass (``groupby``), so a practice-year
of ~300k calls takes well under a second.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from telephony.schema import DIRECTIONS, OUTCOMES

from demand.definitions import (
    DAY_NS,
    DEFAULT_TZ,
    HOUR_NS,
    HANDLED_OUTCOMES,
    NHS_CATEGORIES,
    NHS_OUTCOME_MAP,
    OFFERED_OUTCOMES,
    Layout,
    MetricsInputError,
    group_stats,
    names_at,
    normalise_freq,
    prepare,
    value_ranks,
)

__all__ = ["queue_metrics", "nhs_metrics", "NHS_OUTCOME_MAP", "QUEUE_COUNT_COLUMNS", "NHS_COUNT_COLUMNS"]

# Outcome counts reported by queue_metrics, one column per outcome of the schema.
_OUTCOME_COLUMNS = {
    "answered": "answered",
    "callback": "callbacks",
    "abandoned": "abandoned",
    "missed": "missed",
    "voicemail": "voicemail",
    "ivr_abandoned": "ivr_abandoned",
    "closed": "closed",
    "busy": "busy",
    "failed": "failed",
    "unknown": "unknown_outcome",
}
QUEUE_COUNT_COLUMNS: tuple[str, ...] = (
    "inbound_total",
    "offered",
    *_OUTCOME_COLUMNS.values(),
    "short_abandons",
    "handled",
    "answered_within_service",
)
_QUEUE_RATE_COLUMNS = ("service_level", "abandonment_rate", "asa_s", "wait_p50_s", "wait_p90_s", "mean_talk_s")

NHS_COUNT_COLUMNS: tuple[str, ...] = (
    "inbound_calls",
    "answered",
    "callbacks_requested",
    "handled",
    "missed",
    "abandoned",
    "ended_before_queue",
    "other",
    "callbacks_made",
)

_CALL_COLUMNS = ("practice_id", "start_utc", "direction", "outcome", "wait_s", "talk_s")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` as float, NaN where the denominator is 0."""
    den = np.asarray(den, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(num, dtype="float64") / np.where(den > 0, den, np.nan)


def queue_metrics(
    calls: pd.DataFrame,
    freq: str = "h",
    by_line: bool = False,
    short_abandon_s: float = 10,
    service_s: float = 60,
    tz: str = DEFAULT_TZ,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Queue performance per practice (and line) for every local-time interval.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (columns of :data:`telephony.schema.CALL_SCHEMA`; ``line`` only needed
        with ``by_line``), one practice or several. Only ``direction == "inbound"`` rows are
        counted.
    freq : {"15min", "30min", "h", "D", "W", "MS"}
        Interval: quarter hour, half hour, hour, day, week starting Monday, calendar month, all
        in local wall-clock time.
    by_line : bool
        Also split by ``line`` (queue / IVR branch): each practice gets every interval for each
        line seen in its inbound calls of the period. A null line is reported as ``"unknown"``.
    short_abandon_s : float
        An abandon with ``wait_s`` strictly below this many seconds is a short abandon.
    service_s : float
        Service-level target: an answered call with ``wait_s <= service_s`` is within target.
    tz : str
        IANA timezone of the wall clock the intervals follow (default ``Europe/London``).
    start, end : str or pandas.Timestamp, optional
        Period to report, ``start`` inclusive, ``end`` exclusive; a naive time is local time in
        ``tz``. Every interval of the period is reported, even with no calls. Without them the
        period of each practice runs from its first to its last call (any direction).

    Returns
    -------
    pandas.DataFrame
        One row per ``practice_id`` (, ``line``), ``interval_start`` with columns
        ``interval_start``, ``interval_end`` (tz-aware local, ``[start, end)``), the counts
        (int64) ``inbound_total, offered, answered, callbacks, abandoned, missed, voicemail,
        ivr_abandoned, closed, busy, failed, short_abandons, handled,
        answered_within_service`` and the float measures ``service_level, abandonment_rate,
        asa_s, wait_p50_s, wait_p90_s, mean_talk_s`` (NaN where undefined). Sorted by the keys.
        Intervals with no calls are present with zero counts.

    Raises
    ------
    MetricsInputError
        Unknown ``freq``, a missing column, naive ``start_utc`` or an unknown outcome.

    Notes
    -----
    Definitions (all over inbound calls of the interval, counted in the interval the call
    *started* in):

    - ``inbound_total``: every inbound call, whatever its outcome. It equals the sum of the nine
      outcome counts (``answered + callbacks + abandoned + missed + voicemail + ivr_abandoned +
      closed + busy + failed``).
    - ``offered``: inbound calls that reached a queue (or rang someone):
      ``answered + callbacks + abandoned + missed + voicemail``. IVR hang-ups, calls when closed,
      busy and failed calls never reached a queue and are not offered.
    - ``abandoned``: every caller hang-up while queued, short ones included;
      ``short_abandons`` is the subset with ``wait_s < short_abandon_s`` (an abandon of unknown
      wait is not short). A callback is never an abandon.
    - ``handled = answered + callbacks``.
    - ``answered_within_service``: answered calls with ``wait_s <= service_s`` (an answered call
      of unknown wait is not counted within target).
    - ``service_level = answered_within_service / (offered - short_abandons)``. A callback is
      in the denominator and never in the numerator: nobody spoke to the caller within target.
    - ``abandonment_rate = (abandoned - short_abandons) / (offered - short_abandons)``.
    - ``asa_s``, ``wait_p50_s``, ``wait_p90_s``: mean, median and 90th percentile (linear
      interpolation) of ``wait_s`` over answered calls of known wait.
    - ``mean_talk_s``: mean ``talk_s`` of answered calls.

    Rates and waits are NaN when their denominator is empty. Counts are additive: summing an
    interval's counts over the finer intervals inside it gives the coarser interval's counts, so
    rates for any coarser grouping can be recomputed from the counts (not by averaging rates).

    Local time: intervals follow the wall clock of ``tz`` and are keyed by instant, so the
    spring DST day has 23 hourly rows and the autumn one 25 (01:00 BST and 01:00 GMT both
    appear); see :mod:`demand.definitions`.
    """
    freq = normalise_freq(freq)
    prep = prepare(calls, _CALL_COLUMNS + (("line",) if by_line else ()), tz, start, end)
    calls = prep.calls
    inb = prep.inbound
    q = prep.cached("queue inputs", lambda: _QueueInputs(prep))
    ocode, wait, answered, abandoned = q.ocode, q.wait, q.answered, q.abandoned

    if by_line:
        practice = prep.practice[inb]
        keys = prep.keys(freq)[inb]
        lines = calls["line"].astype("object").where(calls["line"].notna(), "unknown")[inb]
        lcode, line_names = pd.factorize(lines, sort=True)
        combo = practice * max(len(line_names), 1) + lcode
        series_combo, series = np.unique(combo, return_inverse=True)
        series = series.ravel()
        series_practice = series_combo // max(len(line_names), 1)
        series_line = np.asarray(line_names, dtype=object)[series_combo % max(len(line_names), 1)]
        lay = Layout.build(prep.first_utc, prep.last_utc, series_practice, freq, tz)
        row = lay.rows(series, keys)
    else:
        # one series per practice: the layout and each call's row are shared with other metrics
        lay = prep.layout(freq)
        row = prep.cached(("inbound rows", freq), lambda: prep.rows(freq)[inb])
    n = lay.n

    counts = np.bincount(row * len(OUTCOMES) + ocode, minlength=n * len(OUTCOMES)).reshape(n, len(OUTCOMES))
    cols: dict = {"practice_id": names_at(prep.practices, lay.series_practice[lay.out_series])}
    if by_line:
        cols["line"] = names_at(series_line, lay.out_series)
    cols["interval_start"] = lay.starts()
    cols["interval_end"] = lay.ends()
    by_outcome = {o: counts[:, i] for i, o in enumerate(OUTCOMES)}
    cols["inbound_total"] = counts.sum(axis=1)
    cols["offered"] = sum(by_outcome[o] for o in OFFERED_OUTCOMES)
    for o, col in _OUTCOME_COLUMNS.items():
        cols[col] = by_outcome[o]
    cols["short_abandons"] = np.bincount(row[abandoned & (wait < short_abandon_s)], minlength=n)
    cols["handled"] = sum(by_outcome[o] for o in HANDLED_OUTCOMES)
    cols["answered_within_service"] = np.bincount(row[answered & (wait <= service_s)], minlength=n)
    queued = cols["offered"] - cols["short_abandons"]
    cols["service_level"] = _ratio(cols["answered_within_service"], queued)
    cols["abandonment_rate"] = _ratio(cols["abandoned"] - cols["short_abandons"], queued)
    row_answered = row[answered]
    ws = group_stats(row_answered, q.wait_answered, n, (0.5, 0.9), q.wait_ranks)
    cols["asa_s"], cols["wait_p50_s"], cols["wait_p90_s"] = ws["mean"], ws[0.5], ws[0.9]
    cols["mean_talk_s"] = group_stats(row_answered, q.talk_answered, n)["mean"]
    for col in QUEUE_COUNT_COLUMNS:
        cols[col] = np.asarray(cols[col], dtype="int64")
    # one frame built from all its columns at once (inserting columns one by one costs more
    # than the counting on a practice-year), all of them new arrays: no need to copy them
    return pd.DataFrame(cols, copy=False)


class _QueueInputs:
    """What :func:`queue_metrics` reads of prepared calls, whatever the interval (inbound calls)."""

    def __init__(self, prep) -> None:
        inb = prep.inbound
        self.ocode = prep.outcome[inb]
        self.wait = prep.floats("wait_s")[inb]
        self.talk = prep.floats("talk_s")[inb]
        self.answered = self.ocode == OUTCOMES.index("answered")
        self.abandoned = self.ocode == OUTCOMES.index("abandoned")
        self.wait_answered = self.wait[self.answered]
        self.talk_answered = self.talk[self.answered]
        # ranked once for the wait quantiles of every interval here and in nhs_metrics, which
        # take the same calls (answered inbound) in the same order
        self.wait_ranks = value_ranks(self.wait_answered)


class _NhsInputs:
    """What :func:`nhs_metrics` reads of prepared calls, whatever the grouping: the inbound
    calls and the outbound calls that honour a callback, in order."""

    _LUT = np.array([NHS_CATEGORIES.index(NHS_OUTCOME_MAP[o]) for o in OUTCOMES], dtype="int64")

    def __init__(self, prep) -> None:
        made = prep.cached("callbacks_made", lambda: _callbacks_made(prep))
        use = prep.inbound | made
        self.use = use
        self.practice, self.wall = prep.practice[use], prep.wall[use]
        self.inb, self.made = prep.inbound[use], made[use]
        self.cat = self._LUT[prep.outcome[use]]
        self.wait = prep.floats("wait_s")[use]
        self.talk = prep.floats("talk_s")[use]
        self.answered = self.inb & (self.cat == NHS_CATEGORIES.index("answered"))
        self.abandoned = self.inb & (self.cat == NHS_CATEGORIES.index("abandoned"))

    def month_rows(self, prep) -> np.ndarray:
        """Row of each of these calls among the months of ``prep.layout("MS")``."""
        return prep.cached("nhs month rows", lambda: prep.rows("MS")[self.use])


def _callbacks_made(prep) -> np.ndarray:
    """Flag the outbound calls that honour an earlier same-day callback request.

    Within a practice, local day and caller pseudonym, events are taken in time order (an
    outbound call before a request at the same instant); each outbound call honours the
    earliest still-open request before it, if any. With ``+1`` per request and ``-1`` per
    outbound call, an outbound call is left unmatched exactly when its running sum falls below
    every earlier running sum of its group (and below 0), the bracket-matching rule, so the
    whole match is one cumulative sum and one cumulative minimum over the sorted events.

    Returns
    -------
    numpy.ndarray
        Boolean, one per row of the prepared calls.
    """
    practice, utc, wall = prep.practice, prep.utc, prep.wall
    is_out = prep.direction == DIRECTIONS.index("outbound")
    req = prep.inbound & (prep.outcome == OUTCOMES.index("callback"))
    ev = np.flatnonzero((req | is_out) & (prep.caller >= 0))
    made = np.zeros(len(prep.utc), dtype=bool)
    if len(ev) == 0:
        return made
    caller = prep.caller[ev]  # any coding of the pseudonyms will do: it only groups calls
    day = wall[ev] // DAY_NS
    is_req = req[ev]
    order = np.lexsort((is_req, utc[ev], caller, day, practice[ev]))
    p, d, c, r = practice[ev][order], day[order], caller[order], is_req[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = (p[1:] != p[:-1]) | (d[1:] != d[:-1]) | (c[1:] != c[:-1])
    gid = np.cumsum(new_group) - 1
    step = np.where(r, 1, -1).astype("int64")
    cs = np.cumsum(step)
    s = cs - (cs - step)[new_group][gid]  # running sum within the group
    big = 2 * (len(order) + 1)  # shifts each group below all earlier ones: one global cummin
    cmin = np.minimum.accumulate(s - gid * big) + gid * big
    prev_min = np.empty_like(cmin)
    prev_min[0] = 0
    prev_min[1:] = cmin[:-1]
    prev_min[new_group] = 0
    prev_min = np.minimum(prev_min, 0)
    made[ev[order]] = (~r) & (s >= prev_min)
    return made


def nhs_metrics(
    calls: pd.DataFrame,
    by: Literal["month", "weekday", "hour"] = "month",
    tz: str = DEFAULT_TZ,
    per_month: bool = True,
    start=None,
    end=None,
) -> pd.DataFrame:
    """NHS England's GP-contract telephony metrics (the CBT collection), per practice.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (``practice_id, start_utc, direction, caller_key, outcome, wait_s,
        talk_s``), one practice or several. Inbound calls are measured; outbound calls are read
        only to find callbacks made.
    by : {"month", "weekday", "hour"}
        ``month``: one row per calendar month. ``weekday``: per month and day of the week
        (``weekday`` 0 = Monday … 6 = Sunday, and ``weekday_name``). ``hour``: per month and
        hour of the local day (0–23), as the collection is published.
    tz : str
        IANA timezone of the wall clock (default ``Europe/London``).
    per_month : bool
        With ``by="weekday"`` or ``"hour"``, ``False`` pools the whole period into one profile
        (no ``month`` column).
    start, end : str or pandas.Timestamp, optional
        Period, ``start`` inclusive, ``end`` exclusive (naive = local time). Every month (and
        weekday / hour) of the period is reported, with zeros where there were no calls.

    Returns
    -------
    pandas.DataFrame
        Keys ``practice_id``, ``month`` (tz-aware local month start) and ``weekday`` /
        ``weekday_name`` or ``hour``; counts (int64) ``inbound_calls, answered,
        callbacks_requested, handled, missed, abandoned, ended_before_queue, other,
        callbacks_made``; and ``time_to_answer_mean_s, time_to_answer_median_s,
        abandon_wait_mean_s, mean_call_duration_s`` (NaN when there is nothing to average).

    Notes
    -----
    The contract's eight metrics, plus the ninth (inbound calls answered), from
    :data:`NHS_OUTCOME_MAP`:

    ================================ ============================================================
    metric                           column and definition
    ================================ ============================================================
    call volumes                     ``inbound_calls``: every inbound call on every line, any
                                     outcome (IVR hang-ups, closed, busy, failed included)
    inbound calls answered           ``answered``: spoke to a person
    callbacks requested              ``callbacks_requested``: a callback was booked; such a call
                                     is *not* answered. ``handled = answered +
                                     callbacks_requested``
    missed call volumes              ``missed``: Frontdoor ``missed + voicemail + busy``
    calls abandoned                  ``abandoned``: caller hung up while queued (all of them: the
                                     collection has no short-abandon exclusion)
    time taken to answer             ``time_to_answer_mean_s`` / ``_median_s`` of ``wait_s`` over
                                     answered inbound calls of known wait
    wait time before abandonment     ``abandon_wait_mean_s``: mean ``wait_s`` of abandoned calls
    callbacks made                   ``callbacks_made``: outbound calls that honour a callback
                                     request made earlier the same local day by the same caller
                                     (matched on ``caller_key``; see below)
    average call duration            ``mean_call_duration_s``: mean ``talk_s`` of answered
                                     inbound calls
    ================================ ============================================================

    ``inbound_calls = answered + callbacks_requested + missed + abandoned + ended_before_queue +
    other``: every inbound call falls in exactly one category.

    Decisions, from the collection's stated rules (all inbound calls on all numbers count; a
    booked callback is "callback requested", not answered; voicemail is missed):

    - *Voicemail* is missed, as stated. *Busy* is missed too: the practice's system ended the
      call without anyone answering it, which is what a missed call is; the caller did not
      choose to leave.
    - *Abandoned* is Frontdoor's ``abandoned`` only, not ``ivr_abandoned``. The contract pairs
      "calls abandoned" with "wait time before abandonment": a wait to be answered, which only a
      queued call has (an IVR hang-up has none). A hang-up in menus or messages often means the
      message answered the caller (test results, opening hours, "use the NHS App"); the
      published data reports such calls apart from abandoned and missed, as ended in automated
      messages or diverted. Suppliers disagree on the word (X-on's "abandoned" is exactly the
      IVR hang-up and the out-of-hours message), which is why Frontdoor keeps the two outcomes
      apart and this table says where each goes.
    - *Closed* (arrived outside opening hours, heard the closed message or was diverted) counts
      in call volumes, as all inbound calls do, and goes with IVR hang-ups in
      ``ended_before_queue``: not missed (nobody was meant to answer) and not abandoned.
    - *Failed* (technical failure) counts in call volumes only (``other``).

    Callbacks made: within each practice, local day and ``caller_key``, calls are taken in time
    order and each outbound call to the caller honours the earliest still-open callback request
    made strictly before it; further outbound calls (a second try) honour nothing more, so
    ``callbacks_made`` counts requests honoured (at most one outbound call each), whatever the
    outbound call's outcome. A callback is counted where the outbound call falls (its month,
    weekday, hour). Withheld callers (null ``caller_key``) cannot be matched, and a callback made
    on a later day is not counted.

    The hour profile uses the wall-clock hour, so the autumn change's two 01:00 hours are both
    hour 1 and the spring change has no calls in hour 1.
    """
    if by not in ("month", "weekday", "hour"):
        raise MetricsInputError(f"Unknown grouping {by!r}. Use one of: month, weekday, hour.")
    prep = prepare(calls, _CALL_COLUMNS + ("caller_key",), tz, start, end)
    x = prep.cached("nhs inputs", lambda: _NhsInputs(prep))
    practice, wall, inb, made, cat, wait, talk = x.practice, x.wall, x.inb, x.made, x.cat, x.wait, x.talk

    n_p = len(prep.practices)
    monthly = by == "month" or per_month
    if monthly:
        lay = prep.layout("MS")
        base = x.month_rows(prep)
        n_base = lay.n
        base_practice = lay.out_series
    else:
        base, n_base, base_practice = practice, n_p, np.arange(n_p)
    if by == "weekday":
        n_sub, sub = 7, (wall // DAY_NS + 3) % 7
    elif by == "hour":
        n_sub, sub = 24, (wall // HOUR_NS) % 24
    else:
        n_sub, sub = 1, np.zeros(len(wall), dtype="int64")
    row = base * n_sub + sub
    n = n_base * n_sub

    k = len(NHS_CATEGORIES)
    counts = np.bincount(row[inb] * k + cat[inb], minlength=n * k).reshape(n, k)

    cols: dict = {"practice_id": names_at(prep.practices, np.repeat(base_practice, n_sub))}
    if monthly:
        cols["month"] = np.repeat(lay.starts(), n_sub)
    if by == "weekday":
        cols["weekday"] = np.tile(np.arange(7, dtype="int64"), n_base)
        cols["weekday_name"] = names_at(_WEEKDAYS, np.tile(np.arange(7), n_base))
    elif by == "hour":
        cols["hour"] = np.tile(np.arange(24, dtype="int64"), n_base)
    cols["inbound_calls"] = counts.sum(axis=1)
    for i, c in enumerate(NHS_CATEGORIES):
        cols[c] = counts[:, i]
    cols["handled"] = cols["answered"] + cols["callbacks_requested"]
    cols["callbacks_made"] = np.bincount(row[made], minlength=n)
    answered, abandoned = x.answered, x.abandoned
    # the answered inbound calls, in order: those queue_metrics ranks
    ranks = prep.cached("queue inputs", lambda: _QueueInputs(prep)).wait_ranks
    row_answered = row[answered]
    tta = group_stats(row_answered, wait[answered], n, (0.5,), ranks)
    cols["time_to_answer_mean_s"] = tta["mean"]
    cols["time_to_answer_median_s"] = tta[0.5]
    cols["abandon_wait_mean_s"] = group_stats(row[abandoned], wait[abandoned], n)["mean"]
    cols["mean_call_duration_s"] = group_stats(row_answered, talk[answered], n)["mean"]
    for c in NHS_COUNT_COLUMNS:
        cols[c] = np.asarray(cols[c], dtype="int64")
    keys = [c for c in ("practice_id", "month", "weekday", "weekday_name", "hour") if c in cols]
    order = keys + list(NHS_COUNT_COLUMNS) + [
        "time_to_answer_mean_s",
        "time_to_answer_median_s",
        "abandon_wait_mean_s",
        "mean_call_duration_s",
    ]
    return pd.DataFrame({c: cols[c] for c in order})
