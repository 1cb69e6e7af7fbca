"""How the report writes numbers, times and dates."""

from __future__ import annotations

import datetime as dt

import pytest

from reports import text as T


def test_counts_shares_and_missing_values():
    assert [T.count(v) for v in (0, 2.5, 1234.4, 1234.5, None, float("nan"))] == ["0", "3", "1,234", "1,235", "\u2013", "\u2013"]
    assert [T.share(v) for v in (0.456, 1, None)] == ["46%", "100%", "\u2013"]
    assert T.share(0.0191, 1) == "1.9%"


@pytest.mark.parametrize(
    "seconds, up, words",
    [
        (0, False, "0 seconds"),
        (1, False, "1 second"),
        (89.4, False, "89 seconds"),
        (103, False, "2 minutes"),
        (150, False, "2 minutes"),  # round half to even: an average, not a bound
        (150, True, "3 minutes"),  # "within": never less than the time
        (121, True, "3 minutes"),
        (3900, False, "1 hour 5 minutes"),
        (7200, False, "2 hours"),
    ],
)
def test_durations_in_words(seconds, up, words):
    assert T.duration(seconds, up=up) == words


def test_changes_are_percent_for_counts_and_points_for_shares():
    assert T.change(110, 100) == "+10%"
    assert T.change(90, 100) == "-10%"
    assert T.change(100.2, 100) == "no change"
    assert T.change(5, 0) == "\u2013"
    assert T.change(0.45, 0.40, "share") == "+5.0 pts"
    assert T.change(None, 1) == "\u2013"


def test_hours_and_dates_as_people_say_them():
    assert [T.hour_range(h) for h in (8, 11, 12, 0, 23)] == [
        "8\u20139am", "11am\u2013noon", "noon\u20131pm", "midnight\u20131am", "11pm\u2013midnight",
    ]
    assert T.date_range(dt.date(2026, 11, 16), dt.date(2026, 11, 22)) == "16\u201322 November 2026"
    assert T.date_range(dt.date(2025, 12, 29), dt.date(2026, 1, 4)) == "29 December 2025 \u2013 4 January 2026"
    assert T.day_short(dt.date(2026, 11, 16)) == "Mon 16 Nov"
