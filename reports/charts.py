"""The weekly report's charts: matplotlib figures, embedded in the page as PNG data URIs.

Each ``*_figure`` function takes a section of :class:`reports.weekly.WeeklyReport` and returns
a :class:`matplotlib.figure.Figure`, or ``None`` when the section has nothing to draw (the
page then shows the section's note instead). :func:`weekly_charts` draws them all and encodes
them (:func:`to_data_uri`).

Figures are built on :class:`matplotlib.figure.Figure` directly, never through ``pyplot``:
no global state, no GUI backend (the PNG is written by Agg), safe in a server or a process
pool. One palette (Okabe–Ito, readable by the colour-blind and in grey print) gives each
quantity the same colour in every chart: calls blue, people green, redials orange, same-day
slots sky blue, turned away vermilion, forecasts purple, actuals near-black.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from reports import text as T

__all__ = [
    "COLOURS",
    "MODE_COLOURS",
    "Chart",
    "to_data_uri",
    "weekly_charts",
    "heatmap_figure",
    "monday_figure",
    "redials_figure",
    "capacity_figure",
    "appointments_figure",
    "forecast_days_figure",
    "forecast_hours_figure",
    "forecast_check_figure",
]

COLOURS = {
    "calls": "#0072B2",
    "people": "#009E73",
    "redials": "#E69F00",
    "slots": "#56B4E9",
    "booked": "#0072B2",
    "turned_away": "#D55E00",
    "forecast": "#CC79A7",
    "actual": "#222222",
    "other": "#999999",
}
MODE_COLOURS = {
    "face_to_face": "#0072B2",
    "telephone": "#56B4E9",
    "video": "#009E73",
    "home_visit": "#E69F00",
    "unknown": "#BBBBBB",
}
MODE_WORDS = {
    "face_to_face": "face to face",
    "telephone": "telephone",
    "video": "video",
    "home_visit": "home visit",
    "unknown": "not recorded",
}
WIDTH_IN = 7.2  # the printable width of A4 portrait with 12 mm margins, near enough
DPI = 130
_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#666666",
    "axes.linewidth": 0.6,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "svg.fonttype": "none",
}


@dataclass
class Chart:
    """An encoded chart: ``data_uri`` (``data:image/png;base64,...``), ``alt`` text, pixel size."""

    name: str
    data_uri: str
    alt: str
    width: int
    height: int


def to_data_uri(fig: Figure, dpi: int = DPI) -> tuple[str, int, int]:
    """Encode a figure as a PNG data URI; returns ``(uri, width_px, height_px)``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    w, h = fig.get_size_inches()
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), int(round(w * dpi)), int(round(h * dpi))


def _figure(height_in: float, ncols: int = 1, **kw) -> tuple[Figure, object]:
    fig = Figure(figsize=(WIDTH_IN, height_in), layout="constrained")
    axes = fig.subplots(1, ncols, **kw)
    return fig, axes


def _hours_shown(*frames: pd.DataFrame) -> list[int]:
    """Hours from the first to the last with anything in any of the 7x24 frames (8-18 if none)."""
    total = sum(f.to_numpy().sum(axis=0) for f in frames)
    busy = np.flatnonzero(total > 0)
    if not len(busy):
        return list(range(8, 19))
    return list(range(int(busy.min()), int(busy.max()) + 1))


def heatmap_figure(arrival) -> Figure | None:
    """Attempts and new callers by weekday × hour, side by side, counts written in the cells."""
    att, new = arrival.attempts, arrival.new_callers
    if att.to_numpy().sum() == 0:
        return None
    hours = _hours_shown(att, new)
    days = [d for d in range(7) if d < 5 or att.loc[d].sum() > 0]
    fig, axes = _figure(2.5, 2, sharey=True)
    for ax, frame, cmap, title in (
        (axes[0], att, "Blues", "Call attempts"),
        (axes[1], new, "Greens", "People ringing for the first time that day"),
    ):
        m = frame.loc[days, hours].to_numpy(dtype=float)
        vmax = max(1.0, float(m.max()))
        ax.imshow(m, cmap=cmap, vmin=0, vmax=vmax, aspect="auto", interpolation="nearest")
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                v = int(m[i, j])
                if v:
                    ax.text(j, i, f"{v}", ha="center", va="center", fontsize=6.5,
                            color="white" if m[i, j] > 0.55 * vmax else "#222222")
        ax.set_xticks(range(len(hours)), [f"{h:02d}" for h in hours], fontsize=7)
        ax.set_yticks(range(len(days)), [T.WEEKDAYS_SHORT[d] for d in days])
        ax.tick_params(length=0)
        for s in ax.spines.values():
            s.set_visible(False)
        ax.set_title(title, fontsize=8.5)
        ax.set_xlabel("Hour starting")
    return fig


def monday_figure(arrival) -> Figure | None:
    """Mean attempts and new callers per hour: Mondays against Tuesday to Friday."""
    m = arrival.monday
    if m is None or not len(m):
        return None
    fig, ax = _figure(2.4)
    mon = m[m["day_type"] == "Monday"].set_index("hour")
    rest = m[m["day_type"] == "Tuesday-Friday"].set_index("hour")
    busy = (mon["mean_attempts"].fillna(0) + rest["mean_attempts"].fillna(0)) > 0
    hours = busy.index[busy.to_numpy()]
    if not len(hours):
        return None
    hours = list(range(int(hours.min()), int(hours.max()) + 1))
    ax.plot(hours, mon.loc[hours, "mean_attempts"], color=COLOURS["calls"], lw=2, label="Monday: attempts")
    ax.plot(hours, mon.loc[hours, "mean_new_callers"], color=COLOURS["people"], lw=2, label="Monday: people")
    ax.plot(hours, rest.loc[hours, "mean_attempts"], color=COLOURS["calls"], lw=1.2, ls="--", label="Tue\u2013Fri: attempts")
    ax.plot(hours, rest.loc[hours, "mean_new_callers"], color=COLOURS["people"], lw=1.2, ls="--", label="Tue\u2013Fri: people")
    ax.set_xticks(hours, [f"{h:02d}" for h in hours], fontsize=7)
    ax.set_xlabel("Hour starting")
    ax.set_ylabel("Average per day")
    ax.set_ylim(bottom=0)
    ax.legend(ncols=2, loc="upper right")
    return fig


def redials_figure(arrival) -> Figure | None:
    """The week's attempts per hour split into people's first calls and redials (stacked)."""
    b = arrival.by_hour
    if b["attempts"].sum() == 0:
        return None
    busy = b[b["attempts"] > 0]["hour"]
    b = b[(b["hour"] >= busy.min()) & (b["hour"] <= busy.max())]
    fig, ax = _figure(2.3)
    x = b["hour"].to_numpy()
    ax.bar(x, b["new_callers"], color=COLOURS["people"], label="first call of the day", width=0.8)
    ax.bar(x, b["repeat_attempts"], bottom=b["new_callers"], color=COLOURS["redials"], label="redial", width=0.8)
    for xi, tot, rep in zip(x, b["attempts"], b["repeat_attempts"]):
        if tot > 0 and rep > 0:
            ax.text(xi, tot, f"{int(round(100 * rep / tot))}%", ha="center", va="bottom", fontsize=6.5, color="#444444")
    ax.set_xticks(x, [f"{h:02d}" for h in x], fontsize=7)
    ax.set_xlabel("Hour starting (percentages: share of the hour's attempts that were redials)")
    ax.set_ylabel("Attempts in the week")
    ax.legend(loc="upper right")
    return fig


def capacity_figure(capacity) -> Figure | None:
    """Per day and session: people ringing, same-day slots offered and people turned away."""
    s = capacity.sessions
    if s is None or not len(s):
        return None
    s = s[(s["unique_callers"] > 0) | (s["same_day_released"] > 0)]
    if not len(s):
        return None
    fig, ax = _figure(2.6)
    x = np.arange(len(s))
    w = 0.27
    ax.bar(x - w, s["unique_callers"], w, color=COLOURS["people"], label="people ringing")
    ax.bar(x, s["same_day_released"], w, color=COLOURS["slots"], label="same-day slots")
    ax.bar(x + w, s["turned_away"], w, color=COLOURS["turned_away"], label="turned away (estimate)")
    labels = [f"{T.WEEKDAYS_SHORT[pd.Timestamp(d).weekday()]}\n{sess}" for d, sess in zip(s["date"], s["session"])]
    ax.set_xticks(x, labels, fontsize=7.5)
    ax.set_ylabel("People or slots")
    ax.legend(ncols=3, loc="upper right")
    return fig


def appointments_figure(capacity) -> Figure | None:
    """Booked appointments by role, stacked by mode."""
    a = capacity.appointments
    if a is None or not len(a) or a["booked"].sum() == 0:
        return None
    piv = a.pivot_table(index="role", columns="mode", values="booked", aggfunc="sum", fill_value=0, observed=True)
    piv = piv.loc[piv.sum(axis=1) > 0]
    piv = piv.loc[piv.sum(axis=1).sort_values().index]
    modes = [m for m in MODE_COLOURS if m in piv.columns and piv[m].sum() > 0]
    fig, ax = _figure(0.6 + 0.28 * len(piv))
    left = np.zeros(len(piv))
    y = np.arange(len(piv))
    for mode in modes:
        v = piv[mode].to_numpy(dtype=float)
        ax.barh(y, v, left=left, color=MODE_COLOURS[mode], label=MODE_WORDS[mode], height=0.7)
        left += v
    for yi, tot in zip(y, left):
        ax.text(tot, yi, f" {int(tot)}", va="center", fontsize=7.5)
    ax.set_yticks(y, list(piv.index))
    ax.set_xlabel("Booked appointments in the week")
    ax.legend(ncols=len(modes), loc="lower right", fontsize=7.5)
    ax.set_xlim(0, left.max() * 1.12)
    return fig


def _interval_bars(ax, x, frame, mean_col="mean", colour=COLOURS["forecast"], label="forecast"):
    lo95, hi95 = frame["lo95"].to_numpy(), frame["hi95"].to_numpy()
    lo80, hi80 = frame["lo80"].to_numpy(), frame["hi80"].to_numpy()
    mean = frame[mean_col].to_numpy()
    ax.vlines(x, lo95, hi95, color=colour, lw=1.2, alpha=0.45, label="95% interval")
    ax.vlines(x, lo80, hi80, color=colour, lw=5, alpha=0.55, label="80% interval")
    ax.plot(x, mean, "o", color=colour, ms=5, label=label)


def forecast_days_figure(next_week, last_week_days: pd.DataFrame | None = None) -> Figure | None:
    """Next week's calls per day with 80% and 95% intervals, last week's actual beside them."""
    d = next_week.daily
    if d is None or not len(d):
        return None
    d = d[~d["closed"].to_numpy(dtype=bool)]
    if not len(d):
        return None
    fig, ax = _figure(2.4)
    x = np.arange(len(d))
    _interval_bars(ax, x, d)
    for xi, m in zip(x, d["mean"]):
        ax.text(xi + 0.12, m, f"{int(round(m))}", va="center", fontsize=7.5, color="#444444")
    if last_week_days is not None:
        lw = last_week_days.set_index("weekday")["calls"]
        wd = pd.DatetimeIndex(d["ds"]).day_of_week
        ax.plot(x, lw.reindex(wd).to_numpy(dtype=float), "_", color=COLOURS["actual"], ms=16, mew=1.6, label="last week")
    ax.set_xticks(x, [f"{T.WEEKDAYS_SHORT[t.weekday()]} {t.day}" for t in pd.DatetimeIndex(d["ds"])])
    ax.set_ylabel("Calls")
    ax.set_ylim(bottom=0)
    ax.legend(ncols=4, loc="upper right")
    return fig


def _open_positions(ds: pd.DatetimeIndex, closed: np.ndarray) -> tuple[np.ndarray, list, list]:
    """x positions of open periods, days laid end to end with a gap, and day tick positions/labels."""
    keep = ~closed
    ds = ds[keep]
    day = ds.normalize()
    days = day.unique()
    x = np.empty(len(ds))
    ticks, labels = [], []
    pos = 0.0
    for dd in days:
        idx = np.flatnonzero(day == dd)
        x[idx] = pos + np.arange(len(idx))
        ticks.append(pos + (len(idx) - 1) / 2)
        labels.append(f"{T.WEEKDAYS_SHORT[dd.weekday()]} {dd.day}")
        pos += len(idx) + 1.5
    return x, ticks, labels


def forecast_hours_figure(next_week) -> Figure | None:
    """Next week's calls per open hour: the forecast with its 80% and 95% bands."""
    h = next_week.hourly
    if h is None or not len(h):
        return None
    closed = h["closed"].to_numpy(dtype=bool)
    if closed.all():
        return None
    x, ticks, labels = _open_positions(pd.DatetimeIndex(h["ds"]), closed)
    o = h[~closed]
    fig, ax = _figure(2.3)
    day = pd.DatetimeIndex(o["ds"]).normalize()
    for dd in day.unique():
        sel = (day == dd)
        xs = x[sel]
        ax.fill_between(xs, o["lo95"][sel], o["hi95"][sel], color=COLOURS["forecast"], alpha=0.15, lw=0)
        ax.fill_between(xs, o["lo80"][sel], o["hi80"][sel], color=COLOURS["forecast"], alpha=0.3, lw=0)
        ax.plot(xs, o["mean"][sel], color=COLOURS["forecast"], lw=1.6)
    ax.set_xticks(ticks, labels)
    ax.tick_params(axis="x", length=0)
    ax.set_ylabel("Calls per hour")
    ax.set_ylim(bottom=0)
    ax.legend(
        handles=[
            Line2D([], [], color=COLOURS["forecast"], lw=1.6, label="forecast"),
            Patch(color=COLOURS["forecast"], alpha=0.45, label="80% interval"),
            Patch(color=COLOURS["forecast"], alpha=0.18, label="95% interval"),
        ],
        ncols=3,
        loc="upper right",
    )
    return fig


def forecast_check_figure(check) -> Figure | None:
    """Last week: actual calls per day against the forecast made before it (and per hour)."""
    d, h = check.daily, check.hourly
    if d is None or not len(d):
        return None
    d = d[~d["closed"].to_numpy(dtype=bool)]
    has_h = h is not None and len(h) and not h["closed"].all()
    fig, axes = _figure(2.5, 2 if has_h else 1, width_ratios=[1, 2.4] if has_h else None)
    ax = axes[0] if has_h else axes
    x = np.arange(len(d))
    ax.bar(x, d["actual"], color=COLOURS["calls"], width=0.6, alpha=0.85, label="actual")
    _interval_bars(ax, x, d, "forecast")
    ax.set_xticks(x, [T.WEEKDAYS_SHORT[t.weekday()] for t in pd.DatetimeIndex(d["ds"])])
    ax.set_ylabel("Calls")
    ax.set_title("By day", fontsize=8.5)
    ax.set_ylim(bottom=0)
    if has_h:
        closed = h["closed"].to_numpy(dtype=bool)
        xs, ticks, labels = _open_positions(pd.DatetimeIndex(h["ds"]), closed)
        o = h[~closed]
        day = pd.DatetimeIndex(o["ds"]).normalize()
        ax2 = axes[1]
        for dd in day.unique():
            sel = day == dd
            ax2.fill_between(xs[sel], o["lo80"][sel], o["hi80"][sel], color=COLOURS["forecast"], alpha=0.3, lw=0)
            ax2.plot(xs[sel], o["forecast"][sel], color=COLOURS["forecast"], lw=1.4)
            ax2.plot(xs[sel], o["actual"][sel], color=COLOURS["actual"], lw=1.0, marker=".", ms=3)
        ax2.set_xticks(ticks, labels)
        ax2.tick_params(axis="x", length=0)
        ax2.set_ylabel("Calls per hour")
        ax2.set_ylim(bottom=0)
        ax2.set_title("By hour", fontsize=8.5)
        ax2.legend(
            handles=[
                Line2D([], [], color=COLOURS["actual"], lw=1, marker=".", label="actual"),
                Line2D([], [], color=COLOURS["forecast"], lw=1.4, label="forecast"),
                Patch(color=COLOURS["forecast"], alpha=0.45, label="80% interval"),
            ],
            ncols=3,
            loc="upper right",
        )
    return fig


def weekly_charts(report) -> dict[str, Chart]:
    """Draw and encode every chart of a :class:`reports.weekly.WeeklyReport`.

    Returns
    -------
    dict
        Chart name to :class:`Chart`, for the charts that have data (names: ``heatmap``,
        ``monday``, ``redials``, ``capacity``, ``appointments``, ``forecast_days``,
        ``forecast_hours``, ``forecast_check``).
    """
    last_week = None
    days = report.quality.days
    if days is not None and len(days):
        last_week = pd.DataFrame({"weekday": [d.weekday() for d in days["date"]], "calls": days["calls"].to_numpy()})
    specs = {
        "heatmap": (lambda: heatmap_figure(report.arrival),
                    "Heatmaps of call attempts and of people ringing for the first time that day, by weekday and hour"),
        "monday": (lambda: monday_figure(report.arrival),
                   "Average attempts and people per hour on Mondays against Tuesday to Friday"),
        "redials": (lambda: redials_figure(report.arrival), "Attempts per hour split into first calls and redials"),
        "capacity": (lambda: capacity_figure(report.capacity),
                     "People ringing, same-day slots and people turned away, per day and session"),
        "appointments": (lambda: appointments_figure(report.capacity), "Booked appointments by role and mode"),
        "forecast_days": (lambda: forecast_days_figure(report.next_week, last_week),
                          "Next week's calls per day with 80% and 95% intervals"),
        "forecast_hours": (lambda: forecast_hours_figure(report.next_week),
                           "Next week's calls per hour with 80% and 95% bands"),
        "forecast_check": (lambda: forecast_check_figure(report.forecast_check),
                           "Last week's actual calls against the forecast made before the week"),
    }
    out = {}
    with matplotlib.rc_context(_STYLE):
        for name, (draw, alt) in specs.items():
            fig = draw()
            if fig is None:
                continue
            uri, w, h = to_data_uri(fig)
            out[name] = Chart(name, uri, alt, w, h)
    return out


# ----------------------------------------------------------------------------- federation


def funnel_figure(points: pd.DataFrame, curve: pd.DataFrame, value_label: str = "answered share",
                  denominator_label: str = "inbound calls", share: bool = True) -> Figure | None:
    """A funnel plot: each practice's figure against its size, with the 95% and 99.8% limits.

    Parameters
    ----------
    points : pandas.DataFrame
        :func:`demand.variation.funnel` rows (``practice_id``, the denominator column named in
        ``curve``'s terms as the third column, ``value``, ``target``, ``flag``).
    curve : pandas.DataFrame
        :func:`demand.variation.funnel_curve` of the same target.
    """
    if points is None or curve is None or not len(points):
        return None
    den = points.columns[2]
    fig, ax = _figure(3.2)
    scale = 100.0 if share else 1.0
    for level, style in (("95", "--"), ("99.8", ":")):
        for side in ("lower", "upper"):
            col = f"{side}_{level}"
            if col in curve.columns:
                ax.plot(curve["denominator"], curve[col] * scale, style, color=COLOURS["other"], lw=0.9,
                        label=f"{level}% limits" if side == "lower" else None)
    ax.axhline(points["target"].iloc[0] * scale, color=COLOURS["actual"], lw=0.8, label="federation")
    out = points["flag"] != ""
    ax.scatter(points.loc[~out, den], points.loc[~out, "value"] * scale, color=COLOURS["calls"], s=22, zorder=3, label="practice")
    ax.scatter(points.loc[out, den], points.loc[out, "value"] * scale, color=COLOURS["turned_away"], s=26, zorder=3,
               label="outside a limit" if out.any() else None)
    for _, r in points.iterrows():
        ax.annotate(str(r["practice_id"]), (r[den], r["value"] * scale), xytext=(3, 3), textcoords="offset points", fontsize=7)
    ax.set_xscale("log")
    # plain numbers (600, 1,000), not powers of ten: a practice manager reads calls, not exponents
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:,.0f}")
    ax.xaxis.set_major_formatter(fmt)
    ax.xaxis.set_minor_formatter(fmt)
    ax.set_xlabel(denominator_label + " (log scale)")
    ax.set_ylabel(value_label + (" (%)" if share else ""))
    ax.legend(loc="best")
    return fig


def federation_charts(page) -> dict[str, Chart]:
    """Draw and encode the charts of a :class:`reports.federation.FederationPage` (``funnel``)."""
    out = {}
    with matplotlib.rc_context(_STYLE):
        fig = funnel_figure(page.funnel, page.curve)
        if fig is not None:
            uri, w, h = to_data_uri(fig)
            out["funnel"] = Chart("funnel", uri, "Funnel plot of each practice's answered share against its inbound calls", w, h)
    return out
