"""Periods Frontdoor measures, reports on and plans for: years 1970 to 2199, grids of a sane size.

Library-level companions of ``tests/test_bad_inputs.py``: the messages name the arguments
(``freq``, ``first_date``), not the command line's flags.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from demand.definitions import MAX_INTERVAL_ROWS, MetricsInputError, to_utc_bound


def calls(times, practice="A81001", lines=None) -> pd.DataFrame:
    """Answered inbound calls at ``times`` (UTC), canonical columns."""
    n = len(times)
    return pd.DataFrame(
        {
            "practice_id": pd.array([practice] * n, dtype="string"),
            "start_utc": pd.DatetimeIndex(pd.to_datetime(times)).tz_localize("UTC").as_unit("us"),
            "direction": pd.array(["inbound"] * n, dtype="string"),
            "line": pd.array(lines or ["main"] * n, dtype="string"),
            "caller_key": pd.array([f"c{i}" for i in range(n)], dtype="string"),
            "outcome": pd.array(["answered"] * n, dtype="string"),
            "wait_s": np.full(n, 20.0),
            "talk_s": np.full(n, 120.0),
        }
    )


@pytest.mark.parametrize("bound", ["9999-12-31", "0001-01-01", "1677-06-01", "1968-06-01", "2201-06-01"])
def test_period_bound_in_a_year_out_of_range_is_a_metrics_input_error(bound):
    with pytest.raises(MetricsInputError, match=rf"^The period bound '{bound}' is outside the years Frontdoor measures \(1970 to 2199\)"):
        to_utc_bound(bound, "Europe/London")


def test_period_bound_a_year_either_side_is_read_for_the_history_before():
    """Continuity reads the 12 months before a period; the report the weeks before a week."""
    assert to_utc_bound("1969-01-01", "UTC") == pd.Timestamp("1969-01-01", tz="UTC")
    assert to_utc_bound("2200-12-31", "UTC") == pd.Timestamp("2200-12-31", tz="UTC")


def test_queue_metrics_by_line_grid_too_large_counts_the_lines():
    from demand.queue import queue_metrics

    frame = calls(["2026-01-05 08:00", "2026-01-05 08:10", "2026-01-05 09:00"], lines=["main", "scripts", "results"])
    with pytest.raises(MetricsInputError) as info:
        queue_metrics(frame, "15min", by_line=True, start="1990-01-01", end="2030-01-01")
    msg = str(info.value)
    assert msg.startswith("The period 1990-01-01 to 2029-12-31 in 15-minute intervals would be about ")
    assert "rows (3 lines of 1 practice), more than the 2,000,000 a metric lays out" in msg
    said = int(re.search(r"about ([\d,]+) rows", msg).group(1).replace(",", ""))
    days = (pd.Timestamp("2030-01-01") - pd.Timestamp("1990-01-01")).days
    assert abs(said - 3 * 96 * days) <= 3 * 96
    # The same calls per hour for one year: 3 x 8,760 rows, measured.
    out = queue_metrics(frame, "h", by_line=True, start="2026-01-01", end="2027-01-01")
    assert len(out) == 3 * 8760 and out["answered"].sum() == 3


def test_queue_metrics_grid_at_the_limit_is_laid_out():
    """Exactly at MAX_INTERVAL_ROWS by the estimate is allowed; only more is refused."""
    from demand.definitions import grid_rows

    lo = pd.Timestamp("2000-01-01", tz="UTC").value
    days = MAX_INTERVAL_ROWS // 96
    hi = lo + days * 86_400 * 10**9 - 1
    assert grid_rows(np.array([lo]), np.array([hi]), np.array([0]), "15min") == days * 96 <= MAX_INTERVAL_ROWS
    assert grid_rows(np.array([lo]), np.array([hi + 86_400 * 10**9 * 30]), np.array([0]), "15min") > MAX_INTERVAL_ROWS


def test_calls_from_a_wrong_clock_without_a_period_are_a_metrics_input_error():
    """A call the ingest accepted from year 1700 (pandas holds it) made the day grid span 325
    years and the nanosecond arithmetic overflow ('list' argument must have no negative
    elements): said instead, with what to do. With a period, it is simply outside it."""
    from demand.queue import queue_metrics

    frame = calls(["1700-01-01 08:00", "2026-01-05 08:00", "2026-01-05 08:10"])
    with pytest.raises(MetricsInputError, match=r"^The calls run from 1700-01-01 to 2026-01-05, outside the years"):
        queue_metrics(frame, "D")
    out = queue_metrics(frame, "D", start="2026-01-05", end="2026-01-06")
    assert out["answered"].tolist() == [2]


def test_report_week_years_checked_where_typed_with_a_year_of_margin_inside():
    from reports import ReportError, ReportWeek
    from reports import report_week as parse_week
    from telephony.errors import PeriodError

    assert parse_week("1970-W01").start == dt.date(1969, 12, 29)  # ISO 1970-W01 starts in 1969
    assert parse_week("2199-W52").shift(1).iso == "2200-W01"  # the forecast's week after
    assert ReportWeek(dt.date(1969, 10, 6)).shift(-12).iso == "1969-W29"  # the history before
    with pytest.raises(PeriodError, match=r"^the week 1969-W52 is outside the years Frontdoor works in \(1970 to 2199\)"):
        parse_week("1969-12-22")
    with pytest.raises(ReportError, match=r"^The week 1677-W01 is outside"):
        ReportWeek(dt.date.fromisocalendar(1677, 1, 1))


def test_plan_week_and_horizon_limits():
    from forecasting.pipeline import MAX_HORIZON_WEEKS, PlanError, parse_horizon
    from telephony.errors import PeriodError
    from telephony.timeutil import parse_week

    assert parse_week("2199-W52") == dt.date.fromisocalendar(2199, 52, 1)
    with pytest.raises(PeriodError, match=r"^the week 2200-W01 is outside the years Frontdoor works in \(1970 to 2199\)"):
        parse_week("2200-W01")
    assert parse_horizon(f"{MAX_HORIZON_WEEKS}w", "30min") == MAX_HORIZON_WEEKS * 7 * 48
    with pytest.raises(PlanError, match=r"^Horizon '105w' is 35,280 30-minute periods, beyond the 104 weeks \(34,944 periods\)"):
        parse_horizon("105w", "30min")
    with pytest.raises(PlanError, match=r"^Horizon '729' is 729 daily periods"):
        parse_horizon("729", "D")


def test_a_call_from_a_wrong_clock_is_rejected_at_the_ingest(tmp_path, key):
    """A 3CX report row dated 1700 (a PBX clock reset; pandas holds the year) was kept and made
    a forecast's history 325 years long: the ingest now rejects that row alone, saying why."""
    from forecasting.series import series_from_store
    from telephony.ingest import ingest_file
    from telephony.store import Store

    f = tmp_path / "CallReport.csv"
    f.write_text(
        "Call Time,Call ID,From,To,Direction,Status,Ringing,Talking,Cost,Call Activity Details\n"
        "05/01/2026 08:00:05,00000191A2B3C4D5_40,07700900201,Reception (800),Inbound Queue,Answered,00:00:30,00:02:00,0.00,x\n"
        "01/01/1700 08:00:05,00000191A2B3C4D5_41,07700900202,Reception (800),Inbound Queue,Answered,00:00:10,00:01:00,0.00,x\n"
        "05/01/2026 08:02:00,00000191A2B3C4D5_42,07700900203,Reception (800),Inbound Queue,Answered,00:01:10,00:01:00,0.00,x\n"
    )
    store = Store(tmp_path / "store", create=True)
    res = ingest_file(store, f, "A81001")
    assert (res.written, res.rejected) == (2, 1)
    rejects = pd.read_csv(res.rejects_path)
    assert rejects["line"].tolist() == [3]
    assert rejects["reason"].iloc[0] == "start time before 1970 or after 2199 (a phone system with a wrong clock?)"
    got = series_from_store(store, "A81001", freq="D")
    assert got["y"].sum() == 2


def test_period_bound_that_is_a_phone_number_is_not_quoted_back():
    """A caller's number pasted into a date argument: the message says it is no date, masked."""
    from demand.metrics import period_bounds

    for call in (lambda: to_utc_bound("07700900123", "UTC"), lambda: period_bounds("07700 900123", "2026-01-05")):
        with pytest.raises(MetricsInputError) as info:
            call()
        assert "900123" not in str(info.value) and "07700" not in str(info.value)
