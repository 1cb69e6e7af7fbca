"""Series to forecast: from canonical calls, from the store, or from any long-format file.

:func:`series_from_calls` (a calls frame), :func:`series_from_store` (reads the store) and
:func:`read_series` (a CSV/Parquet of ``ds, y``) all give the frame of :mod:`forecasting.base` (``unique_id, ds, y``, ``ds`` naive local
wall-clock time on a regular grid), so every model and the backtest take either.

What can be forecast from the store
-----------------------------------
=================== ========================================================== =============
``what``            count per period (from :mod:`demand`)                      periods
=================== ========================================================== =============
``offered``         inbound calls that reached a queue (``queue_metrics``)     15min, 30min,
                                                                               h, D
``calls``           every inbound call, closed-message and IVR hang-ups        15min, 30min,
                    included (``inbound_total``)                               h, D
``unique_callers``  people: callers whose first attempt of the local day fell  h, D
                    in the period (``caller_metrics_hourly.new_callers``; per
                    day ``caller_metrics_daily.unique_callers``)
``closed``          inbound calls that arrived while the practice was closed   15min, 30min,
                    (outcome ``closed``): demand it did not serve, its own     h, D
                    series, never part of ``offered``
``same_day_demand`` callers wanting a same-day appointment, met or not:        D
                    same-day slots booked plus callers turned away for lack of
                    capacity (``demand_capacity``: ``same_day_booked +
                    turned_away_no_capacity``, am + pm)
=================== ========================================================== =============
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from telephony.errors import BadInputError
from telephony.privacy import mask_digits
from telephony.sources import regular_file_stat
from telephony.store import validate_practice_id
from telephony.timeutil import PERIOD_YEARS, canonical_freq
from telephony.practices import read_practices

from demand.callers import caller_metrics_daily, caller_metrics_hourly
from demand.demand_capacity import demand_capacity
from demand.metrics import NoMetricsDataError, read_metrics
from demand.queue import queue_metrics

from forecasting.base import DS, FREQS, ID, Y, ForecastInputError, check_series, freq_minutes, infer_freq
from forecasting.calendar import Calendar, CalendarError, OpeningHours
from telephony.calendar import nation_code

__all__ = [
    "WHATS",
    "series_from_calls",
    "series_from_store",
    "read_series",
    "to_wall_clock",
    "complete_grid",
    "calendars_from_registry",
    "read_calendars",
]

WHATS: dict[str, tuple[str, ...]] = {
    "offered": ("15min", "30min", "h", "D"),
    "calls": ("15min", "30min", "h", "D"),
    "closed": ("15min", "30min", "h", "D"),
    "unique_callers": ("h", "D"),
    "same_day_demand": ("D",),
}


def _freq(freq: str) -> str:
    canon = canonical_freq(freq)
    if canon not in FREQS:
        raise ForecastInputError(f"Unsupported frequency {freq!r}; forecasts use one of {', '.join(FREQS)}.")
    return canon


def to_wall_clock(df: pd.DataFrame, tz: str = "Europe/London") -> pd.DataFrame:
    """Turn timezone-aware ``ds`` into naive local wall-clock time, summing the autumn repeat.

    Parameters
    ----------
    df : pandas.DataFrame
        ``unique_id, ds, y`` with ``ds`` timezone-aware (naive ``ds`` is returned as is).
    tz : str
        The wall clock to read (default ``Europe/London``).

    Returns
    -------
    pandas.DataFrame
        Same columns; ``ds`` naive. On the autumn change the two 01:00 hours become one
        period holding both counts; the spring change's missing 01:00 stays missing (see
        :func:`complete_grid`). Sorted by id and time.
    """
    ds = df[DS]
    if not isinstance(ds.dtype, pd.DatetimeTZDtype):
        return df
    out = df.copy()
    out[DS] = ds.dt.tz_convert(tz).dt.tz_localize(None)
    keys = [c for c in (ID, DS) if c in out.columns]
    return out.groupby(keys, sort=True, as_index=False)[Y].sum()


def complete_grid(df: pd.DataFrame, freq: str, fill_value: float = 0.0) -> pd.DataFrame:
    """Every period from each series' first to last ``ds``, missing ones set to ``fill_value``.

    Use it when an absent period means nothing happened (an export lists only intervals with
    calls, or a wall-clock series lacks the spring change's 01:00). Repeated periods are left
    for :func:`forecasting.base.check_series` to report.
    """
    step = pd.Timedelta(minutes=freq_minutes(freq))
    parts = []
    for uid, g in df.groupby(ID, sort=True):
        grid = pd.date_range(g[DS].min(), g[DS].max(), freq=step)
        if len(grid) == len(g) and not g[DS].duplicated().any():
            parts.append(g[[ID, DS, Y]])
            continue
        have = g.set_index(DS)[Y]
        if have.index.duplicated().any():
            parts.append(g[[ID, DS, Y]])
            continue
        full = have.reindex(grid.union(have.index), fill_value=fill_value)
        parts.append(pd.DataFrame({ID: uid, DS: full.index, Y: full.to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else df[[ID, DS, Y]]


def read_series(
    path: str | Path,
    freq: str | None = None,
    fill_missing: float | None = None,
    tz: str = "Europe/London",
    unique_id: str | None = None,
) -> pd.DataFrame:
    """Read a long-format series file (CSV or Parquet) for forecasting or backtesting.

    Parameters
    ----------
    path : str or Path
        ``.csv`` (or ``.txt``/``.tsv``, delimiter sniffed) or ``.parquet``/``.pq``, with
        columns ``ds`` and ``y`` and optionally ``unique_id`` (names case-insensitive; other
        columns are ignored).
    freq : str, optional
        ``15min``, ``30min``, ``h`` or ``D``; inferred (the commonest step) when omitted.
    fill_missing : float, optional
        Value for periods missing from the grid (e.g. ``0`` when the file lists only
        intervals with calls). Without it a gap is an error.
    tz : str
        For ``ds`` with UTC offsets: the wall clock they are read in (default
        ``Europe/London``); the autumn change's repeated hour is summed into one period.
    unique_id : str, optional
        Id of a file without a ``unique_id`` column (default the file's name without suffix).

    Returns
    -------
    pandas.DataFrame
        ``unique_id, ds, y`` checked by :func:`forecasting.base.check_series`.

    Raises
    ------
    ForecastInputError
        A missing or unreadable file, a missing ``ds``/``y`` column, unparseable dates,
        missing or negative counts, repeated or irregular timestamps (saying which and how to
        fix).
    """
    path = Path(path)
    try:
        regular_file_stat(path)  # a named pipe or device would be waited on for ever
    except BadInputError as err:
        raise ForecastInputError(str(err)) from None
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
        elif suffix in (".csv", ".txt", ".tsv"):
            raw = pd.read_csv(path, sep=_delimiter(path))
        else:
            raise ForecastInputError(f"Cannot read {path.name}: give a .csv or .parquet file of ds,y (and unique_id).")
    except ForecastInputError:
        raise
    except Exception as err:  # pandas and pyarrow raise many types for a damaged file
        raise ForecastInputError(f"Cannot read {path.name}: {err}") from err
    lower = {str(c).strip().lower(): c for c in raw.columns}
    missing = [c for c in (DS, Y) if c not in lower]
    if missing:
        raise ForecastInputError(
            f"{path.name} lacks column(s) {', '.join(missing)}; a series file needs ds (period start) and y "
            f"(count), optionally unique_id. Its columns are: {', '.join(map(str, raw.columns))}."
        )
    df = pd.DataFrame(
        {
            ID: raw[lower[ID]].astype(str) if ID in lower else (unique_id or path.stem),
            DS: raw[lower[DS]],
            Y: raw[lower[Y]],
        }
    )
    parsed = _parse_ds(df[DS], path.name)
    df[DS] = parsed
    df = to_wall_clock(df, tz) if isinstance(parsed.dtype, pd.DatetimeTZDtype) else df
    if fill_missing is not None:
        f = _freq(freq) if freq is not None else infer_freq(df[DS], df[ID])
        df = complete_grid(df, f, fill_missing)
    try:
        out, _ = check_series(df, None if freq is None else _freq(freq))
    except ForecastInputError as err:
        raise ForecastInputError(f"{path.name}: {err}") from None
    return out


def _delimiter(path: Path) -> str:
    """The delimiter of a series file, from its first line (read at most 64 KB of it).

    pandas' own sniffing (``sep=None``) reads the whole first line with the Python engine:
    minutes for a file that is one 10 MB line.
    """
    with open(path, "rb") as fh:
        head = fh.read(1 << 16).split(b"\n", 1)[0].decode("utf-8", errors="replace")
    return max([",", ";", "\t", "|"], key=head.count) if any(d in head for d in ",;\t|") else ","


def _parse_ds(ds: pd.Series, name: str) -> pd.Series:
    """Date-times of a file's ds column; UTC offsets (mixed across the clock change) kept.

    Raises
    ------
    ForecastInputError
        A value that is not a date-time, or one outside the years Frontdoor forecasts
        (:data:`telephony.timeutil.PERIOD_YEARS`: a ``9999`` placeholder would overflow the
        nanosecond arithmetic of the models).
    """
    if pd.api.types.is_datetime64_any_dtype(ds):
        return _check_years(ds, ds, name)
    try:
        parsed = pd.to_datetime(ds, format="mixed")
    except (ValueError, TypeError):
        try:  # offsets that differ (+00:00 in winter, +01:00 in summer): read as instants
            parsed = pd.to_datetime(ds, format="mixed", utc=True)
        except (ValueError, TypeError) as err:
            raise ForecastInputError(f"{name}: column ds is not readable as date-times ({err}).") from err
    return _check_years(parsed, ds, name)


def _check_years(parsed: pd.Series, text: pd.Series, name: str) -> pd.Series:
    """``parsed``, unless a value lies outside :data:`telephony.timeutil.PERIOD_YEARS`."""
    year = parsed.dt.year
    bad = ((year < PERIOD_YEARS[0]) | (year > PERIOD_YEARS[1])).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        first = text[bad].iloc[0]
        raise ForecastInputError(
            f"{name}: column ds has {int(bad.sum()):,} date(s) outside the years Frontdoor forecasts "
            f"({PERIOD_YEARS[0]} to {PERIOD_YEARS[1]}), e.g. {mask_digits(str(first)[:40])!r}; correct them or leave those rows out."
        )
    return parsed


def _dates(value) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).normalize()


def _check_what(what: str, freq: str) -> str:
    if what not in WHATS:
        raise ForecastInputError(f"Unknown series {what!r}; use one of {', '.join(WHATS)}.")
    freq = _freq(freq)
    if freq not in WHATS[what]:
        raise ForecastInputError(f"{what} is counted per {' or '.join(WHATS[what])}, not per {freq}.")
    return freq


def series_from_calls(
    calls: pd.DataFrame,
    freq: str = "h",
    what: str = "offered",
    tz: str = "Europe/London",
    start=None,
    end=None,
    slots: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """A demand series per practice from canonical calls (and slots), ready for the models.

    Parameters
    ----------
    calls : pandas.DataFrame
        Canonical calls (:mod:`telephony.schema`), one practice or several.
    freq : {"15min", "30min", "h", "D"}
        Period length (what each ``what`` allows is in the module's table).
    what : {"offered", "calls", "closed", "unique_callers", "same_day_demand"}
        The count (see the module's table).
    tz : str
        Wall clock of the practices (default ``Europe/London``).
    start, end : str or pandas.Timestamp, optional
        Period ``[start, end)`` (naive = local time); without them each practice runs from
        its first to its last call, as in the demand metrics.
    slots : pandas.DataFrame, optional
        Canonical appointment slots; needed for ``same_day_demand``.

    Returns
    -------
    pandas.DataFrame
        ``unique_id`` (the practice), ``ds`` (naive local period start), ``y`` (float).

    Raises
    ------
    ForecastInputError
        An unknown ``what``, a frequency it is not counted in, or ``same_day_demand``
        without slots.
    demand.definitions.MetricsInputError
        Calls (or slots) the metrics cannot use.

    Notes
    -----
    The counts come from the demand metrics themselves (:func:`demand.queue.queue_metrics`,
    :func:`demand.callers.caller_metrics_daily` / ``caller_metrics_hourly``,
    :func:`demand.demand_capacity.demand_capacity`), then go to wall-clock time as in
    :func:`series_from_store`.
    """
    freq = _check_what(what, freq)
    if what in ("offered", "calls", "closed"):
        m = queue_metrics(calls, freq, tz=tz, start=start, end=end)
    elif what == "unique_callers":
        m = (caller_metrics_daily if freq == "D" else caller_metrics_hourly)(calls, tz, start, end)
    else:
        if slots is None:
            raise ForecastInputError("same_day_demand needs the appointment slots too: pass slots=.")

        m = demand_capacity(calls, slots, tz, start=start, end=end)
    return _finish(_metric_series(m, what, freq, tz), freq)


def _finish(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    out = complete_grid(frame, freq, 0.0)
    out[Y] = out[Y].astype("float64")
    return out.sort_values([ID, DS], kind="stable").reset_index(drop=True)


def series_from_store(
    store,
    practices: Iterable[str] | str | None = None,
    first_date=None,
    last_date=None,
    freq: str = "h",
    what: str = "offered",
    tz: str = "Europe/London",
) -> pd.DataFrame:
    """A demand series per practice from the store, ready for the models.

    Parameters
    ----------
    store : telephony.store.Store
    practices : str or iterable of str, optional
        ODS codes; every practice in the store when omitted.
    first_date, last_date : date or ``YYYY-MM-DD``, optional
        Whole local days, both included (as ``frontdoor metrics``). Without them each
        practice's series runs from its first call's day to its last call's period (so an
        export that stops mid-afternoon does not look like an empty evening).
    freq : {"15min", "30min", "h", "D"}
        Period length (what each ``what`` allows is in the module's table).
    what : {"offered", "calls", "closed", "unique_callers", "same_day_demand"}
        The count (see the module's table).
    tz : str
        Wall clock of the practices (default ``Europe/London``).

    Returns
    -------
    pandas.DataFrame
        ``unique_id`` (the practice), ``ds`` (naive local period start), ``y`` (float
        counts), every period of each practice's span present.

    Raises
    ------
    ForecastInputError
        An unknown ``what`` or a frequency it is not reported in.
    demand.metrics.NoMetricsDataError
        An unknown practice, or no calls (or slots) in the period.

    Notes
    -----
    Reads through :func:`demand.metrics.read_metrics`, so the counts are exactly those of
    ``frontdoor metrics``. Periods are converted to naive wall-clock time
    (:func:`to_wall_clock`, :func:`complete_grid`): the autumn change's two 01:00 hours are one
    period and the spring change's missing hour a period of 0.
    """

    freq = _check_what(what, freq)
    if isinstance(practices, str):
        practices = [practices]
    if practices is not None:
        # As the store spells them: "a81001" read as a second practice doubled every period.
        practices = list(dict.fromkeys(validate_practice_id(p) for p in practices))
    if first_date is not None and last_date is not None:
        spans = {None: (_dates(first_date), _dates(last_date), None)}
    else:
        spans = _call_spans(store, practices, tz, _dates(first_date), _dates(last_date))
    parts = []
    for pid, (first, last, last_call) in spans.items():
        which = practices if pid is None else [pid]
        kind = {"offered": "queue", "calls": "queue", "closed": "queue", "unique_callers": "callers", "same_day_demand": "pressure"}[what]
        m = read_metrics(store, kind, which, first.date(), last.date(), None if kind == "pressure" else freq, tz=tz)
        frame = _metric_series(m, what, freq, tz)
        if last_call is not None:
            frame = frame[frame[DS] <= last_call]
        parts.append(frame)
    return _finish(pd.concat(parts, ignore_index=True), freq)


def _metric_series(m: pd.DataFrame, what: str, freq: str, tz: str) -> pd.DataFrame:
    if what in ("offered", "calls", "closed"):
        col = {"offered": "offered", "calls": "inbound_total", "closed": "closed"}[what]
        frame = pd.DataFrame({ID: m["practice_id"].astype(str), DS: m["interval_start"], Y: m[col]})
    elif what == "unique_callers":
        if freq == "D":
            frame = pd.DataFrame({ID: m["practice_id"].astype(str), DS: m["date"], Y: m["unique_callers"]})
        else:
            frame = pd.DataFrame({ID: m["practice_id"].astype(str), DS: m["interval_start"], Y: m["new_callers"]})
    else:
        y = m["same_day_booked"] + m["turned_away_no_capacity"]
        frame = (
            pd.DataFrame({ID: m["practice_id"].astype(str), DS: m["date"], Y: y})
            .groupby([ID, DS], as_index=False, sort=True)[Y]
            .sum()
        )
    frame = to_wall_clock(frame, tz)
    frame[DS] = pd.DatetimeIndex(frame[DS]).as_unit("us")
    return frame


def _call_spans(store, practices, tz: str, first, last) -> dict:
    """Per practice: first day, last day and last call's local time (when not given)."""

    calls = store.read_calls(practices, columns=["practice_id", "start_utc"])
    if len(calls) == 0:
        raise NoMetricsDataError(f"No calls in the store at {store.root} for {', '.join(practices or ['any practice'])}.")
    local = calls["start_utc"].dt.tz_convert(tz).dt.tz_localize(None)
    spans = {}
    for pid, t in local.groupby(calls["practice_id"].astype(str)):
        lo = first if first is not None else t.min().normalize()
        hi = last if last is not None else t.max().normalize()
        if not PERIOD_YEARS[0] <= lo.year <= hi.year <= PERIOD_YEARS[1]:
            # A history nobody typed: a call the ingest accepted from a PBX with a wrong clock.
            raise ForecastInputError(
                f"{pid}'s calls in the store run from {lo:%Y-%m-%d} to {hi:%Y-%m-%d}, outside the years Frontdoor "
                f"forecasts ({PERIOD_YEARS[0]} to {PERIOD_YEARS[1]}): those calls come from a PBX with a wrong clock; "
                "give the history's first and last dates (first_date, last_date)."
            )
        spans[pid] = (lo, hi, None if last is not None else t.max())
    for p in practices or []:
        if p not in spans:  # no calls: read_metrics reports it, naming what the store holds
            spans[p] = (first or local.min().normalize(), last or local.max().normalize(), None)
    return spans


def calendars_from_registry(
    practices: pd.DataFrame, nation: str = "ENG", default_hours: str | OpeningHours | None = None
) -> dict[str, Calendar]:
    """One :class:`Calendar` per practice from the registry's ``opening_hours``.

    Parameters
    ----------
    practices : pandas.DataFrame
        Registry rows (``practice_id``, ``opening_hours``), e.g. from
        :func:`telephony.practices.read_practices`.
    nation : str
        Bank holidays of ``ENG``, ``SCT``, ``WLS`` or ``NIR`` for a practice whose registry row
        states no ``nation``.
    default_hours : str or OpeningHours, optional
        Hours of a practice without any (default Mon–Fri 08:00–18:30).

    Raises
    ------
    CalendarError
        For opening hours that cannot be read, naming the practice.
    """
    out = {}
    n = len(practices)
    hours_of = practices["opening_hours"] if "opening_hours" in practices.columns else pd.Series([None] * n)
    nation_of = practices["nation"] if "nation" in practices.columns else pd.Series([None] * n)
    for pid, hours, own in zip(practices["practice_id"].astype(str), hours_of, nation_of):
        text = hours if isinstance(hours, str) and hours.strip() else default_hours
        # a practice's own nation (registry) before the default one
        its = nation_code(own) if isinstance(own, str) and own.strip() else nation
        try:
            out[pid] = Calendar(nation=its) if text is None else Calendar(nation=its, hours=text)
        except CalendarError as err:
            raise CalendarError(f"Practice {pid}: {err}") from None
    return out


def read_calendars(store, practices: Iterable[str] | None = None, nation: str = "ENG") -> Mapping[str, Calendar]:
    """Calendars of practices from the store's registry (the default hours for any not in it).

    Returns
    -------
    dict
        ``practice_id`` to :class:`Calendar`, for every practice asked for (or in the
        registry when ``practices`` is omitted).
    """

    reg = read_practices(store)
    cals = calendars_from_registry(reg, nation)
    if practices is None:
        return cals
    if isinstance(practices, str):
        practices = [practices]
    return {p: cals.get(p, Calendar(nation=nation)) for p in practices}
