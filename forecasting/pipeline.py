"""The one forecast orchestration: a practice's series (from the store or a file), a model
from the registry, its forecast and its backtest.

``frontdoor forecast`` and ``frontdoor backtest``, the staffing plan
(:mod:`forecasting.planning.plan`) and the weekly report's outlook
(:mod:`forecasting.outlook`) all go through these functions, so a practice's series is made
and modelled one way. Functions named ``read_*`` read the store; nothing here writes.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from telephony.practices import read_practices
from telephony.store import validate_practice_id

from forecasting.backtest import backtest
from forecasting.base import DS, ID, Y, ForecastInputError, Model, freq_minutes, infer_freq
from forecasting.calendar import Calendar, CalendarError, Closures, read_closures, series_calendar
from forecasting.models import make_model
from forecasting.series import _freq, read_series, series_from_store

__all__ = [
    "MAX_HORIZON_WEEKS",
    "PlanError",
    "parse_horizon",
    "read_practice_series",
    "forecast_series",
    "backtest_series",
    "series_calendars",
    "WarningTally",
    "tally_warnings",
]

#: Top-level packages whose warnings are Frontdoor's own (always shown, never counted away).
OWN_PACKAGES = frozenset({"telephony", "demand", "forecasting", "reports", "cli"})
_ROOT = Path(__file__).resolve().parent.parent

Progress = Callable[[str], None]

#: Furthest ahead a forecast reaches. A seasonal model two years out is already a guess; a
#: horizon of centuries (a slip of the keyboard) overflowed the time arithmetic or memory.
MAX_HORIZON_WEEKS = 104


class PlanError(ForecastInputError):
    """An argument of a planning command that cannot be used; the message says how to fix it."""


def _say(progress: Progress | None, msg: str) -> None:
    if progress is not None:
        progress(msg)


def parse_horizon(text: str | int, freq: str) -> int:
    """Periods of ``freq`` in a horizon: ``"1w"`` (weeks), ``"3d"`` (days) or a plain number of periods.

    Raises
    ------
    PlanError
        For anything else, a horizon shorter than one period, or one beyond
        :data:`MAX_HORIZON_WEEKS`.
    """
    per_day = 1440 // freq_minutes(_freq(freq))
    s = str(text).strip().lower()
    m = re.fullmatch(r"(\d+)\s*([wd]?)", s)
    if not m or int(m.group(1)) < 1:
        raise PlanError(f"Horizon {text!r} is not understood; give weeks (1w, 13w), days (3d) or a number of periods (168).")
    n = int(m.group(1)) * {"w": 7 * per_day, "d": per_day, "": 1}[m.group(2)]
    most = MAX_HORIZON_WEEKS * 7 * per_day
    if n > most:
        periods = {1: "daily", 24: "hourly"}.get(per_day, f"{1440 // per_day}-minute")
        raise PlanError(
            f"Horizon {text!r} is {n:,} {periods} periods, beyond the {MAX_HORIZON_WEEKS} weeks ({most:,} periods) "
            f"a forecast reaches; give a shorter horizon, e.g. 13w."
        )
    return n


def read_practice_series(
    store=None,
    practice: str | None = None,
    what: str = "offered",
    freq: str = "h",
    input_file: str | Path | None = None,
    *,
    open_hours: str | None = None,
    holidays: str | None = None,
    closures: str | Path | Closures | None = None,
    first_date=None,
    last_date=None,
) -> tuple[pd.DataFrame, dict[str, Calendar]]:
    """A series to forecast and its calendar: one practice from the store, or a series file.

    Parameters
    ----------
    store : telephony.store.Store, optional
        Needed for ``practice``.
    practice : str, optional
        ODS code of a practice in the store.
    what, freq
        The series (see :func:`forecasting.series.series_from_store`).
    input_file : str or Path, optional
        Or a ``ds, y`` file (:func:`forecasting.series.read_series`); periods missing from it
        are closed periods or data gaps, told apart by the calendar.
    open_hours : str, optional
        Stated hours (``"Mon-Fri 08:00-18:30"``, ``"always"``). Default: the registry's hours
        for a practice that has them, else learned from the series.
    holidays : str, optional
        ``england``, ``scotland``, ``wales``, ``northern-ireland`` or ``none``. Default: the
        registry's nation for a practice (England when it states none), ``none`` for a file
        and for the ``closed`` series (closed calls arrive on holidays).
    closures : str, Path or Closures, optional
        A file of closed dates and spans (:func:`forecasting.calendar.read_closures`).
    first_date, last_date : date or ``YYYY-MM-DD``, optional
        A practice's history from and to these local days (both included); all of it when
        omitted.

    Returns
    -------
    (pandas.DataFrame, dict)
        The long frame (``unique_id, ds, y``) and one :class:`Calendar` per series, whose
        ``notes`` say where its hours, holidays, closures and data gaps came from.

    Raises
    ------
    PlanError
        Neither or both of a practice and a file.
    forecasting.calendar.CalendarError
        Hours, holidays or closures that cannot be read.
    """
    if (practice is None) == (input_file is None):
        raise PlanError("Give either `practice` ODS (a practice in the store) or `input_file` FILE (a ds,y series), not both.")
    if closures is not None and not isinstance(closures, Closures):
        closures = read_closures(closures)
    if input_file is not None:
        # Missing periods are closures or data gaps: the calendar tells them apart.
        df = read_series(input_file, freq=freq, fill_missing=0.0)
        return df, series_calendars(df, open_hours, holidays or "none", closures)
    practice = validate_practice_id(practice)  # "a81001": the registry's calendar is under A81001
    df = series_from_store(store, practice, first_date, last_date, freq=freq, what=what)
    stated, source = open_hours, "`open_hours`"
    reg = read_practices(store)
    row = reg[reg["practice_id"].astype(str) == practice]
    if stated is None and what != "closed":
        text = row["opening_hours"].iloc[0] if len(row) and "opening_hours" in row.columns else None
        if isinstance(text, str) and text.strip():
            stated, source = text, "the registry"
    # the registry's nation decides whose bank holidays shut the practice (England when unstated)
    nation = row["nation"].iloc[0] if len(row) and "nation" in row.columns else None
    default_holidays = "none" if what == "closed" else (nation if isinstance(nation, str) and nation.strip() else "england")
    # Unique callers and all calls include the callers who heard the closed message: their
    # demand outside the hours is not open-hours demand, so stated hours stand for them.
    keep = what in ("offered", "closed", "same_day_demand") or open_hours is None and stated is None
    try:
        cals = series_calendars(df, stated, holidays or default_holidays, closures, source, keep)
    except CalendarError as err:
        if source != "the registry":
            raise
        raise CalendarError(f"Practice {practice}'s opening hours in the registry: {err} (or give `open_hours`)") from None
    return df, cals


def series_calendars(
    df: pd.DataFrame,
    open_hours: str | None = None,
    holidays: str | None = "none",
    closures: Closures | None = None,
    hours_source: str = "`open_hours`",
    keep_demand_open: bool = True,
) -> dict[str, Calendar]:
    """One calendar per series of ``df`` (:func:`forecasting.calendar.series_calendar`).

    Parameters
    ----------
    df : pandas.DataFrame
        ``unique_id, ds, y``.
    open_hours : str, optional
        Stated hours for every series; ``None``: each series' hours are learned from it.
    holidays : str, optional
        A nation or ``none``.
    closures : Closures, optional
        Stated closures.
    hours_source : str
        Who stated ``open_hours`` (for the calendars' notes).
    keep_demand_open : bool
        See :func:`forecasting.calendar.series_calendar`.
    """
    freq = infer_freq(df[DS], df[ID])
    return {
        str(uid): series_calendar(g[DS], g[Y].to_numpy(), freq, open_hours, holidays, closures, hours_source,
                                  keep_demand_open)
        for uid, g in df.groupby(ID, sort=True)
    }


class WarningTally:
    """Warnings seen during a run: Frontdoor's own shown as they come, others counted.

    Attributes
    ----------
    counts : collections.Counter
        ``(package, category name)`` to how many times it warned.
    examples : dict
        The first message of each ``(package, category name)``.
    """

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.examples: dict[tuple[str, str], str] = {}

    def summary(self) -> list[str]:
        """One sentence per package: ``"statsmodels warned 12 times: ConvergenceWarning (12) ..."``."""
        by_pkg: dict[str, Counter] = {}
        for (pkg, cat), n in self.counts.items():
            by_pkg.setdefault(pkg, Counter())[cat] += n
        out = []
        for pkg, cats in sorted(by_pkg.items()):
            total = sum(cats.values())
            kinds = ", ".join(f"{c} ({n})" for c, n in cats.most_common())
            first = self.examples[(pkg, cats.most_common(1)[0][0])]
            out.append(f"{pkg} warned {total} time{'s' if total != 1 else ''}: {kinds}; e.g. {first[:160]!r}")
        return out


def _package(w: warnings.WarningMessage) -> str:
    """The top-level package a warning came from (by its file, else its category's module)."""
    path = Path(w.filename).resolve() if w.filename else None
    if path is not None:
        parts = path.parts
        for marker in ("site-packages", "dist-packages"):
            if marker in parts:
                i = parts.index(marker)
                return parts[i + 1].split(".")[0] if i + 1 < len(parts) else "python"
        if _ROOT in path.parents:
            return path.relative_to(_ROOT).parts[0].removesuffix(".py")
    return type(w.message).__module__.split(".")[0] if isinstance(w.message, Warning) else "python"


@contextlib.contextmanager
def tally_warnings(tally: WarningTally | None = None) -> Iterator[WarningTally]:
    """Within the block, show Frontdoor's own warnings and count everyone else's.

    Frontdoor's warnings (raised from its packages, or of a category defined there) are
    re-issued unchanged after the block; third-party ones (statsmodels' convergence, pandas'
    deprecations inside a library) are counted in ``tally`` to be reported once per run.
    """
    tally = tally if tally is not None else WarningTally()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            yield tally
        finally:
            own = []
            for w in seen:
                pkg = _package(w)
                cat_pkg = w.category.__module__.split(".")[0]
                if pkg in OWN_PACKAGES or cat_pkg in OWN_PACKAGES:
                    own.append(w)
                else:
                    key = (pkg, w.category.__name__)
                    tally.counts[key] += 1
                    tally.examples.setdefault(key, str(w.message))
    for w in own:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _model(model: str | Model, calendar) -> Model:
    m = make_model(model) if isinstance(model, str) else model
    if calendar is not None:
        m.calendar = calendar
    return m


def forecast_series(
    df: pd.DataFrame, model: str | Model = "auto", horizon: str | int = "1w", calendar=None,
    level=(80, 95),
) -> tuple[pd.DataFrame, Model]:
    """Fit a model (by registry name) and forecast ``horizon`` after each series' end.

    Returns
    -------
    (pandas.DataFrame, Model)
        The model's ``predict`` frame and the fitted model (its ``spread_``, ``choices_``).
        ``attrs["warnings"]``: third-party warnings counted during the fit, one sentence per
        package (Frontdoor's own warnings are shown as they come).
    """
    freq = infer_freq(df[DS], df[ID])
    h = parse_horizon(horizon, freq)
    m = _model(model, calendar)
    with tally_warnings() as tally:
        fc = m.fit(df).predict(h, level=level)
    fc.attrs["warnings"] = tally.summary()
    return fc, m


def backtest_series(
    df: pd.DataFrame, models: list[str], horizon: str | int = "1w", windows: int = 8, calendar=None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Rolling-origin backtest of registry models, one after another; the tidy results.

    Windows are ``horizon`` apart (they tile the last ``windows x horizon`` periods).

    Returns
    -------
    pandas.DataFrame
        As :func:`forecasting.backtest.backtest`, every model's rows. ``attrs["windows"]``
        accounts for every window (records of periods, closed, gaps, scored); ``attrs["warnings"]``
        counts third-party warnings, one sentence per package, also passed to ``progress``
        once at the end (Frontdoor's own warnings are shown as they come).
    """
    freq = infer_freq(df[DS], df[ID])
    h = parse_horizon(horizon, freq)
    parts = []
    tally = WarningTally()
    for i, name in enumerate(models, 1):
        _say(progress, f"[{i}/{len(models)}] backtesting {name} over {windows} windows of {h} periods")
        m = _model(name, calendar)
        with tally_warnings(tally):
            parts.append(backtest(df, {name: m}, h=h, n_windows=windows, level=(80,), calendar=calendar))
    windows_seen = [w for p in parts for w in p.attrs.get("windows", [])]
    out = pd.concat(parts, ignore_index=True)
    out.attrs = dict(parts[0].attrs)
    out.attrs["windows"] = windows_seen
    out.attrs["warnings"] = tally.summary()
    for line in out.attrs["warnings"]:
        _say(progress, line)
    return out
