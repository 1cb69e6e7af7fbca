"""Parsing export times and durations, and wall-clock → UTC across the clock changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from telephony.timeutil import localize, parse_datetimes, parse_durations

T = pd.Timestamp


def S(*values) -> pd.Series:
    return pd.Series(list(values), dtype="string")


def naive(*values) -> list:
    return [pd.NaT if v is None else T(v) for v in values]


def utc(*values) -> list:
    return [pd.NaT if v is None else T(v, tz="UTC") for v in values]


def as_list(s: pd.Series) -> list:
    return [pd.NaT if pd.isna(v) else v for v in s]


@pytest.mark.parametrize(
    "values, expected",
    [
        (
            ("2026-01-05 08:00:01", "2026-01-05T08:00:02", "2026-01-05 08:00:03.250", "2026-01-05 08:01"),
            ("2026-01-05 08:00:01", "2026-01-05 08:00:02", "2026-01-05 08:00:03.250", "2026-01-05 08:01:00"),
        ),
        # UK portals: day first, with and without seconds; 13/01 can only be day-first.
        (
            ("05/01/2026 08:00", "05/01/2026 08:00:07", "13/01/2026 17:30", "01/02/2026 10:00"),
            ("2026-01-05 08:00", "2026-01-05 08:00:07", "2026-01-13 17:30", "2026-02-01 10:00"),
        ),
        # A spreadsheet's re-save: year first, slashes, no zero padding.
        (
            ("2026/2/10 22:41", "2026/2/9 8:05", "2026/12/31 23:59:59"),
            ("2026-02-10 22:41", "2026-02-09 08:05", "2026-12-31 23:59:59"),
        ),
        (
            ("5/1/2026 8:00", "05-01-2026 08:00", "05.01.2026 08:00:00", "05/01/26 08:00"),
            ("2026-01-05 08:00",) * 4,
        ),
        (("5 Jan 2026 8:00am", "05/01/2026 08:00 PM"), ("2026-01-05 08:00", "2026-01-05 20:00")),
    ],
)
def test_wall_clock_formats(values, expected):
    out = parse_datetimes(S(*values))
    assert out.dt.tz is None
    assert as_list(out) == naive(*expected)


@pytest.mark.parametrize("dayfirst", [True, False], ids=["dayfirst", "monthfirst"])
@pytest.mark.parametrize(
    "value, expected",
    [
        # ISO dates alone: year-month-day, whatever dayfirst says (was read as 10 January).
        ("2025-10-01", "2025-10-01"),
        ("2025-10-13", "2025-10-13"),
        ("2026-2-10", "2026-02-10"),
        # Year first with slashes or dots, with or without a time: never 2 October.
        ("2026/02/10", "2026-02-10"),
        ("2026/2/10", "2026-02-10"),
        ("2026.02.10 08:00", "2026-02-10 08:00"),
        ("2026/02/10 08:00:00.5", "2026-02-10 08:00:00.5"),
        ("2026-02-10 08:00:00 AM", "2026-02-10 08:00"),
        ("2026-02-10 8:05 pm", "2026-02-10 20:05"),
        ("20251001", "2025-10-01"),
        # Month names (GPAD's 01OCT2025): one reading only.
        ("01OCT2025", "2025-10-01"),
        ("1oct2025", "2025-10-01"),
        ("01-Oct-2025", "2025-10-01"),
        ("1 Oct 2025", "2025-10-01"),
        ("01-Oct-2025 08:00:00", "2025-10-01 08:00"),
        ("01 October 2025", "2025-10-01"),
    ],
)
def test_year_first_and_named_month_dates_have_one_reading(value, expected, dayfirst):
    out = parse_datetimes(S(value), dayfirst=dayfirst)
    assert out.dt.tz is None
    assert as_list(out) == naive(expected)


@pytest.mark.parametrize(
    "value, dayfirst_reading, monthfirst_reading",
    [
        ("01/10/2025", "2025-10-01", "2025-01-10"),
        ("1/10/2025", "2025-10-01", "2025-01-10"),
        ("01-10-2025", "2025-10-01", "2025-01-10"),
        ("01.10.2025", "2025-10-01", "2025-01-10"),
        ("01/10/25", "2025-10-01", "2025-01-10"),
        # Only one reading exists: either setting gives it.
        ("13/10/2025", "2025-10-13", "2025-10-13"),
        ("10/13/2025", "2025-10-13", "2025-10-13"),
    ],
)
def test_dates_alone_with_the_year_last_follow_dayfirst(value, dayfirst_reading, monthfirst_reading):
    assert as_list(parse_datetimes(S(value))) == naive(dayfirst_reading)
    assert as_list(parse_datetimes(S(value), dayfirst=False)) == naive(monthfirst_reading)


def test_dates_alone_are_local_midnight_and_localise_like_times():
    out = parse_datetimes(S("2025-10-01", "01/10/2025", "01OCT2025", "2026-06-01"))
    assert as_list(out) == naive("2025-10-01", "2025-10-01", "2025-10-01", "2026-06-01")
    # Midnight London: BST (UTC+1) on both days.
    assert as_list(localize(out)) == utc("2025-09-30 23:00", "2025-09-30 23:00", "2025-09-30 23:00", "2026-05-31 23:00")


def test_one_column_mixing_year_first_and_day_first_dates():
    out = parse_datetimes(S("2026/02/10", "10/02/2026", "2026-02-10T08:00:00", "10/02/2026 08:00", "10FEB2026"))
    assert as_list(out) == naive("2026-02-10", "2026-02-10", "2026-02-10 08:00", "2026-02-10 08:00", "2026-02-10")


def test_year_first_values_with_a_zone_are_not_day_first():
    # A 12-hour clock misses ISO 8601 and reaches the general parser, which was told dayfirst;
    # the zone after AM/PM is still the value's zone.
    s = parse_datetimes(S("2026/02/10 08:00:00 AM +0000", "2026-06-10 09:30:00 AM +0100", "2026/02/10 8:00 PM GMT"))
    assert as_list(s) == utc("2026-02-10 08:00", "2026-06-10 08:30", "2026-02-10 20:00")
    # In a wall-clock column such a value is converted to London time (BST in June).
    s = parse_datetimes(S("2026/06/10 09:30:00 AM +0000", "2026-06-10 09:00", "2026-06-10 10:00"))
    assert as_list(s) == naive("2026-06-10 10:30", "2026-06-10 09:00", "2026-06-10 10:00")


def test_month_first_when_told():
    assert as_list(parse_datetimes(S("01/02/2026 10:00"), dayfirst=False)) == naive("2026-01-02 10:00")
    assert as_list(parse_datetimes(S("01/02/2026 10:00"))) == naive("2026-02-01 10:00")


def test_explicit_format_first():
    out = parse_datetimes(S("20260105 0800", "2026-01-06 09:00:00"), fmt="%Y%m%d %H%M")
    assert as_list(out) == naive("2026-01-05 08:00", "2026-01-06 09:00")


def test_blanks_and_garbage_are_missing():
    out = parse_datetimes(S("", "  ", None, "garbage", "2026-01-05 08:00:00"))
    assert as_list(out) == naive(None, None, None, None, "2026-01-05 08:00:00")
    assert parse_datetimes(S("", None)).isna().all()
    assert len(parse_datetimes(S())) == 0


def test_epoch_seconds_and_milliseconds_are_utc():
    s = parse_datetimes(S("1767600000", "1767600001.5", ""))
    assert str(s.dt.tz) == "UTC"
    assert as_list(s) == utc("2026-01-05 08:00:00", "2026-01-05 08:00:01.5", None)
    ms = parse_datetimes(S("1767600000123", "1767600000999"))
    assert as_list(ms) == utc("2026-01-05 08:00:00.123", "2026-01-05 08:00:00.999")


def test_iso_with_zone_is_utc():
    s = parse_datetimes(S("2026-01-05T08:00:00Z", "2026-06-05T08:00:00+01:00", "2026-06-05T08:00:00+0100", ""))
    assert str(s.dt.tz) == "UTC"
    assert as_list(s) == utc("2026-01-05 08:00", "2026-06-05 07:00", "2026-06-05 07:00", None)


@pytest.mark.parametrize(
    "value, seconds",
    [
        ("123", 123.0),
        ("123.5", 123.5),
        ("00:02:03", 123.0),
        ("2:03", 123.0),
        ("1:02:03", 3723.0),
        ("0:00:00", 0.0),
        ("1 day, 00:00:05", 86405.0),
        (" 45 ", 45.0),
        ("", np.nan),
        (None, np.nan),
        ("abc", np.nan),
    ],
)
def test_parse_durations(value, seconds):
    out = parse_durations(S(value))
    assert out.dtype == "float64"
    assert out.iloc[0] == pytest.approx(seconds, nan_ok=True)


# ----------------------------------------------------------------------------- clock changes

LONDON = "Europe/London"


def _wall_clock(instants_utc: pd.DatetimeIndex) -> pd.Series:
    """What a phone system writes: the London wall clock, no zone, in time order."""
    return pd.Series(instants_utc.tz_convert(LONDON).tz_localize(None))


def test_spring_forward_2026_no_hour_lost():
    # 29 March 2026: 01:00 GMT becomes 02:00 BST.
    out = localize(pd.Series(naive("2026-03-29 00:30", "2026-03-29 00:59:59", "2026-03-29 02:00", "2026-03-29 02:30")))
    assert as_list(out) == utc("2026-03-29 00:30", "2026-03-29 00:59:59", "2026-03-29 01:00", "2026-03-29 01:30")
    # A time in the missing hour can only come from a wrong clock: moved forward, not dropped.
    gap = localize(pd.Series(naive("2026-03-29 01:30")))
    assert as_list(gap) == utc("2026-03-29 01:00")


def test_fall_back_2026_repeated_hour_in_file_order():
    # 25 October 2026: 02:00 BST becomes 01:00 GMT; 01:00-01:59 happens twice.
    wall = pd.Series(
        naive(
            "2026-10-25 00:50",
            "2026-10-25 01:10",  # first pass (BST) = 00:10 UTC
            "2026-10-25 01:50",
            "2026-10-25 01:45",  # a little out of order, still the first pass
            "2026-10-25 01:05",  # the clock went back: second pass (GMT) = 01:05 UTC
            "2026-10-25 01:55",
            "2026-10-25 02:10",
        )
    )
    out = localize(wall)
    assert as_list(out) == utc(
        "2026-10-24 23:50",
        "2026-10-25 00:10",
        "2026-10-25 00:50",
        "2026-10-25 00:45",
        "2026-10-25 01:05",
        "2026-10-25 01:55",
        "2026-10-25 02:10",
    )


@pytest.mark.parametrize(
    "day",
    ["2026-03-29", "2026-10-25"],
    ids=["spring", "autumn"],
)
def test_hourly_counts_conserved_over_clock_change(day):
    # One call every 6 minutes for two days around the change, written as the wall clock.
    start = T(day, tz="UTC") - pd.Timedelta(hours=24)
    truth = pd.date_range(start, periods=48 * 10, freq="6min")
    out = localize(_wall_clock(truth))
    assert (pd.DatetimeIndex(out) == truth).all()
    hourly = pd.Series(1, index=pd.DatetimeIndex(out)).resample("1h").sum()
    assert len(hourly) == 48
    assert (hourly == 10).all()  # no hour lost, none doubled
    # The same in London hours: the autumn day has 25 local hours, the spring day 23.
    local_day = pd.DatetimeIndex(out).tz_convert(LONDON)
    on_day = local_day[local_day.strftime("%Y-%m-%d") == day]
    assert len(on_day) == (230 if day == "2026-03-29" else 250)


def test_localize_keeps_missing_and_aware_values():
    out = localize(pd.Series(naive("2026-10-25 01:30", None, "2026-10-25 01:10")))
    assert as_list(out) == utc("2026-10-25 00:30", None, "2026-10-25 01:10")
    aware = pd.Series(utc("2026-06-01 10:00"))
    assert as_list(localize(aware)) == utc("2026-06-01 10:00")
    assert len(localize(pd.Series([], dtype="datetime64[ns]"))) == 0


def test_other_timezone():
    out = localize(pd.Series(naive("2026-07-01 09:00")), "Europe/Paris")
    assert as_list(out) == utc("2026-07-01 07:00")


@pytest.mark.parametrize("cut", [3, 10, 14, 17, 20])
def test_fall_back_resolved_across_chunks(cut):
    """A file read in chunks: a chunk starting inside the repeated hour still knows the clock
    went back (one state dict per file, chunks in file order)."""
    truth = pd.date_range("2026-10-25 00:00", "2026-10-25 02:30", freq="5min", tz="UTC")
    wall = _wall_clock(truth)
    state: dict = {}
    parts = [localize(wall.iloc[:cut].reset_index(drop=True), LONDON, state),
             localize(wall.iloc[cut:].reset_index(drop=True), LONDON, state)]
    out = pd.concat(parts, ignore_index=True)
    assert (pd.DatetimeIndex(out) == truth).all()


# ----------------------------------------------------------------------------- mixed columns


def test_one_odd_first_value_does_not_decide_the_column():
    """The kind of a column is the majority of a sample, not the first value: an offset time
    at the top of a wall-clock column does not make the rest UTC (an hour out in summer)..."""
    s = parse_datetimes(S("2026-06-05T08:00:00+01:00", "2026-06-05 09:00:00", "2026-06-05 10:00:00"))
    assert s.dt.tz is None
    # ... the offset value itself is converted to the export's wall clock (BST), exactly.
    assert as_list(s) == naive("2026-06-05 08:00", "2026-06-05 09:00", "2026-06-05 10:00")
    # An epoch-looking first value (a misread id) does not make every date unreadable.
    s = parse_datetimes(S("1767600000", "2026-06-05 09:00:00", "2026-06-05 10:00:00"))
    assert as_list(s) == naive("2026-01-05 08:00", "2026-06-05 09:00", "2026-06-05 10:00")
    # Garbage first, epoch seconds after: UTC.
    s = parse_datetimes(S("garbage", "1767600000", "1767600060"))
    assert as_list(s) == utc(None, "2026-01-05 08:00", "2026-01-05 08:01")


def test_mixed_utc_column_reads_its_wall_clock_values_in_the_zone():
    """Mostly offset times with one wall-clock value: the column is UTC, the odd value is read
    as wall-clock time in ``tz`` (not as UTC, which would put it an hour out in summer)."""
    values = S("2026-06-05 09:00:00", "2026-06-05T08:00:00Z", "2026-06-05T09:00:00+01:00", "2026-06-05T10:00:00Z")
    assert as_list(parse_datetimes(values)) == utc("2026-06-05 08:00", "2026-06-05 08:00", "2026-06-05 08:00", "2026-06-05 10:00")
    assert as_list(parse_datetimes(values, tz="UTC"))[0] == T("2026-06-05 09:00", tz="UTC")


def test_zones_spelt_other_ways_and_rfc2822():
    s = parse_datetimes(S("Mon, 05 Jan 2026 08:00:12 +0000", "05/01/2026 08:00:12 +0100", "2026-01-05 08:00 GMT", ""))
    assert as_list(s) == utc("2026-01-05 08:00:12", "2026-01-05 07:00:12", "2026-01-05 08:00", None)


def test_the_sample_spans_the_column(monkeypatch):
    """Many wall-clock values above a long run of epoch values: judged on values spread over
    the whole column (a sample of the first few would say wall clock)."""
    import telephony.timeutil as tu

    monkeypatch.setattr(tu, "SAMPLE_VALUES", 10)
    values = S(*(["2026-01-05 08:00:00"] * 30 + ["1767600000"] * 70))
    out = parse_datetimes(values)
    assert str(out.dt.tz) == "UTC" and out.notna().all()
    assert out.iloc[0] == T("2026-01-05 08:00", tz="UTC") and out.iloc[-1] == T("2026-01-05 08:00", tz="UTC")


def test_parse_utc_takes_plain_values_as_utc():
    from telephony.timeutil import parse_utc

    out = parse_utc(S("2026-06-05 09:00:00", "2026-06-05T09:00:00+01:00", "", "2026-01-05T08:00:12.1234567Z"))
    assert str(out.dt.tz) == "UTC"
    assert as_list(out) == utc("2026-06-05 09:00", "2026-06-05 08:00", None, "2026-01-05 08:00:12.1234567")


# --- years a timestamp cannot hold: NaT for that value, never an error for the column ---------

OUT_OF_RANGE_SPELLINGS = [
    "9999-12-31 23:59:59",  # a placeholder for "never"
    "9999/12/31 23:59",
    "31/12/9999 10:00",
    "31-Dec-9999 10:00:00",
    "31 Dec 9999 11pm",  # only the general parser reads this one
    "9999-12-31T23:59:59Z",
    "Fri, 31 Dec 9999 23:59:59 +0000",
    "1677-01-01 00:00:00",  # a clock with a flat battery
    "1677-09-21 00:10:00",  # inside pandas' first day, before its first nanosecond
    "2262-04-11 23:50:00",  # after its last
    "0001-01-01 00:00:00",  # .NET's empty DateTime
    "0001-01-01T00:00:00+01:00",
    "01/01/0001 10:00",
    "01JAN0001",  # dateutil would read this as 2001
    "0000-00-00 00:00:00",  # MySQL's zero date
    "9999999999",  # epoch seconds in 2286
    "9999999999999",  # epoch milliseconds in 2286
]
GOOD = "2026-01-05 08:00:00"


@pytest.mark.parametrize("where", ["first", "last", "alone"])
@pytest.mark.parametrize("value", OUT_OF_RANGE_SPELLINGS)
@pytest.mark.parametrize("how", ["parse_datetimes", "parse_datetimes_utc_zone", "parse_utc"])
def test_out_of_range_year_is_nat_and_the_other_values_still_read(value, where, how):
    from telephony.timeutil import parse_utc

    values = {"first": [value, GOOD, GOOD], "last": [GOOD, GOOD, value], "alone": [value, value, value]}[where]
    parse = {
        "parse_datetimes": parse_datetimes,
        "parse_datetimes_utc_zone": lambda s: parse_datetimes(s, tz="UTC"),
        "parse_utc": parse_utc,
    }[how]
    out = parse(S(*values))
    assert out.dtype.kind == "M" and "ns" in str(out.dtype)
    bad = [i for i, v in enumerate(values) if v == value]
    assert out.iloc[bad].isna().all()
    good = [i for i, v in enumerate(values) if v == GOOD]
    expected = T(GOOD, tz="UTC") if how == "parse_utc" else T(GOOD)
    assert [out.iloc[i] for i in good] == [expected] * len(good)


def test_first_and_last_whole_years_a_timestamp_holds_still_read():
    out = parse_datetimes(S("01/01/1678 00:00", "31/12/2261 23:59:59", "1678-01-01T00:00:00Z"))
    assert as_list(out)[:2] == naive("1678-01-01 00:00", "2261-12-31 23:59:59")
    assert out.notna().all()


def test_years_out_of_range_flags_exactly_the_values_read_as_nat_for_their_year():
    from telephony.timeutil import years_out_of_range

    values = S(*OUT_OF_RANGE_SPELLINGS, GOOD, "05/01/2026 08:00", "1767600000", "Mon, 05 Jan 2026 08:00:12 +0000",
               "2026-01-05T08:00:12.1234567Z", "", "garbage", "01/01/1678 00:00", "31/12/2261 23:59:59")
    flags = years_out_of_range(values)
    n = len(OUT_OF_RANGE_SPELLINGS)
    assert flags[:n].all()
    assert not flags[n:].any()  # the +0000 offset and the 7 fraction digits are not years


def test_localize_reads_out_of_range_naive_times_as_nat():
    """A reader that parsed 9999 itself hands the ingest a coarse-resolution time pandas holds
    but nanoseconds cannot: that row becomes NaT (rejected), the others convert."""
    naive_s = pd.Series(np.array(["9999-12-31T23:59:59", "2026-06-05T09:00:00", "1600-01-01T00:00:00"], dtype="datetime64[s]"))
    out = localize(naive_s)
    assert as_list(out) == utc(None, "2026-06-05 08:00", None)


def test_parse_durations_reads_infinite_and_nan_words_as_missing():
    out = parse_durations(S("1e400", "inf", "-inf", "NaN", "12", "00:01:02", ""))
    assert out.iloc[:4].isna().all()
    assert out.iloc[4:6].tolist() == [12.0, 62.0] and np.isnan(out.iloc[6])
