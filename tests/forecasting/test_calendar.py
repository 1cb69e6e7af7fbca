"""The practice calendar: bank holidays by nation, the day after them, opening hours."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.calendar import Calendar, CalendarError, OpeningHours


def days(*dates: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(list(dates))


def test_england_has_easter_monday_and_late_summer_holiday_scotland_does_not():
    eng, sct = Calendar("ENG"), Calendar("SCT")
    d = days("2026-04-06", "2026-08-31", "2026-08-03", "2026-04-07")
    assert eng.is_bank_holiday(d).tolist() == [True, True, False, False]
    # Scotland: no Easter Monday, its summer bank holiday is the first Monday of August
    assert sct.is_bank_holiday(d).tolist() == [False, False, True, False]


def test_bank_holiday_frame_for_2026_christmas_in_england():
    bh = Calendar().bank_holidays("2026-12-01", "2027-01-31")
    assert bh["date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-12-25", "2026-12-26", "2026-12-28", "2027-01-01"]
    assert "Boxing Day (observed)" in bh["name"].tolist()


def test_nation_is_checked():
    with pytest.raises(CalendarError, match="ENG, SCT, WLS, NIR"):
        Calendar("UK")
    assert Calendar("nir").nation == "NIR"


def test_day_after_bank_holiday_is_first_open_day_after_the_closure():
    cal = Calendar()
    d = days("2026-04-03", "2026-04-06", "2026-04-07", "2026-04-13", "2026-12-29", "2027-01-04", "2026-09-01")
    # Good Friday, Easter Monday, Tuesday after Easter (yes), an ordinary Monday,
    # Tue 29 Dec after Christmas Fri + Boxing Day observed Mon (yes), Mon 4 Jan after New Year
    # on a Friday (yes), Tue 1 Sep after the late summer holiday (yes)
    assert cal.day_after_bank_holiday(d).tolist() == [False, False, True, False, True, True, True]


def test_day_after_with_bank_holidays_open_is_the_next_day():
    cal = Calendar.always_open()
    d = days("2026-04-04", "2026-04-07", "2026-04-08")
    assert cal.day_after_bank_holiday(d).tolist() == [True, True, False]
    assert not cal.closed(d, "D").any()


def test_hourly_closed_mask_follows_default_hours():
    cal = Calendar()
    ds = days(
        "2026-04-07 07:00", "2026-04-07 08:00", "2026-04-07 18:00", "2026-04-07 19:00",
        "2026-04-11 10:00", "2026-04-06 10:00",
    )
    # 18:00-19:00 is open for its first half hour; Saturday and Easter Monday are closed
    assert cal.closed(ds, "h").tolist() == [True, False, False, True, True, True]


def test_half_hourly_and_daily_masks():
    cal = Calendar()
    ds = days("2026-04-07 07:30", "2026-04-07 08:00", "2026-04-07 18:00", "2026-04-07 18:30")
    assert cal.closed(ds, "30min").tolist() == [True, False, False, True]
    d = days("2026-04-06", "2026-04-07", "2026-04-11", "2026-04-12")
    assert cal.closed(d, "D").tolist() == [True, False, True, True]


def test_opening_hours_parse_with_lunch_and_saturday():
    hours = OpeningHours.parse("Mon-Fri 08:00-12:00, 13:00-18:00; Sat 09:00-12:00")
    assert hours.spans[0] == ((480, 720), (780, 1080))
    assert hours.spans[5] == ((540, 720),)
    assert hours.spans[6] == ()
    cal = Calendar(hours=hours)
    ds = days("2026-04-07 12:00", "2026-04-07 12:30", "2026-04-07 13:00", "2026-04-11 09:00", "2026-04-11 12:00")
    assert cal.closed(ds, "30min").tolist() == [True, True, False, False, True]
    assert cal.closed(days("2026-04-07 12:00"), "h").tolist() == [True]


def test_opening_hours_text_in_calendar_and_always_open():
    assert Calendar(hours="Mon-Sun 00:00-24:00").hours == OpeningHours.always_open()
    assert OpeningHours.parse("24/7") == OpeningHours.always_open()
    assert OpeningHours.parse("Mon-Fri 08:00-18:30; Wed closed").spans[2] == ()


@pytest.mark.parametrize(
    "text, message",
    [
        ("Mon-Fri 8-18", "HH:MM"),
        ("Mun 08:00-18:00", "Unknown day 'Mun'"),
        ("Mon 18:00-08:00", "crosses midnight"),
        ("", "empty"),
        ("Mon 08:00-25:00", "not a time of day"),
    ],
)
def test_opening_hours_errors_say_how_to_write_them(text, message):
    with pytest.raises(CalendarError, match=message):
        OpeningHours.parse(text)


def test_extra_closures_close_whole_days():
    cal = Calendar(extra_closures=("2026-04-08",))
    assert cal.closed(days("2026-04-08 10:00", "2026-04-09 10:00"), "h").tolist() == [True, False]


def test_timezone_aware_timestamps_are_refused():
    with pytest.raises(CalendarError, match="naive local"):
        Calendar().closed(pd.DatetimeIndex(["2026-04-07 10:00"]).tz_localize("Europe/London"), "h")
