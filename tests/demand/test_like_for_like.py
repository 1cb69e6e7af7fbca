"""NHS CBT outcome categories from canonical calls, and what each phone system cannot tell."""

from __future__ import annotations

import pandas as pd
import pytest

from demand.definitions import MetricsInputError
from demand.like_for_like import cbt_outcomes, system_notes


def _calls(rows):
    df = pd.DataFrame(rows, columns=["practice_id", "start_local", "direction", "outcome", "wait_s", "source_format"])
    df["start_utc"] = pd.to_datetime(df.pop("start_local")).dt.tz_localize("Europe/London").dt.tz_convert("UTC")
    return df


def _one_of_each():
    P, F = "A81001", "asterisk_queue_log"
    return _calls([
        (P, "2026-01-05 08:00", "inbound", "answered", 30.0, F),
        (P, "2026-01-05 08:01", "inbound", "answered", 90.0, F),
        (P, "2026-01-05 08:02", "inbound", "answered", 400.0, F),
        (P, "2026-01-05 08:03", "inbound", "callback", 200.0, F),   # call-back booked: not answered
        (P, "2026-01-05 08:04", "inbound", "voicemail", 70.0, F),    # voicemail: missed
        (P, "2026-01-05 08:05", "inbound", "abandoned", 20.0, F),    # hung up in the queue: missed
        (P, "2026-01-05 08:06", "inbound", "missed", 310.0, F),
        (P, "2026-01-05 08:07", "inbound", "busy", None, F),
        (P, "2026-01-05 08:08", "inbound", "ivr_abandoned", None, F),
        (P, "2026-01-05 19:00", "inbound", "closed", None, F),
        (P, "2026-01-05 08:09", "inbound", "failed", None, F),
        (P, "2026-01-05 08:10", "outbound", "answered", None, F),    # not inbound: not counted
        (P, "2026-02-02 08:00", "inbound", "answered", 5.0, F),
    ])


def test_categories_follow_the_cbt_definitions():
    got = cbt_outcomes(_one_of_each(), "month").set_index("period")
    jan = got.loc[pd.Timestamp("2026-01-01")]
    assert jan["inbound_calls"] == 11
    assert (jan["answered"], jan["callback_requested"], jan["missed"], jan["ended_ivr"], jan["other"]) == (3, 1, 4, 2, 1)
    assert jan["answered"] + jan["callback_requested"] + jan["missed"] + jan["ended_ivr"] + jan["other"] == jan["inbound_calls"]
    # bands: answered waits 30 / 90 / 400 s; missed waits 70, 20, 310 (busy has none)
    assert (jan["answer_lt_1m"], jan["answer_1_2m"], jan["answer_2_5m"], jan["answer_gt_5m"]) == (1, 1, 0, 1)
    assert (jan["missed_lt_1m"], jan["missed_1_2m"], jan["missed_2_5m"], jan["missed_gt_5m"]) == (1, 1, 0, 1)
    assert got.loc[pd.Timestamp("2026-02-01"), "inbound_calls"] == 1


def test_weeks_and_quarters():
    w = cbt_outcomes(_one_of_each(), "week")
    assert w["period"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-02")]
    q = cbt_outcomes(_one_of_each(), "quarter")
    assert q["inbound_calls"].tolist() == [12]


def test_each_practice_says_which_system_and_what_it_cannot_tell():
    rows = [("A81002", "2026-01-05 09:00", "inbound", o, 10.0, "threecx_report") for o in ("answered", "missed", "ivr_abandoned")]
    rows += [("A81003", "2026-01-05 09:00", "inbound", o, 10.0, "xon_surgery_connect") for o in ("answered", "missed", "callback", "closed")]
    got = cbt_outcomes(pd.concat([_one_of_each(), _calls(rows)]), "month").set_index("practice_id")
    assert got.loc["A81002", "source_format"] == "threecx_report"
    assert "callback_requested" in got.loc["A81002", "cannot_tell"]
    assert got.loc["A81002", "none_recorded"] == "callback_requested"
    # X-on's missed calls include queue hang-ups: the CBT category is the same, so nothing is
    # withheld, but the note says why its abandonment figures differ
    assert got.loc["A81003", "cannot_tell"] == "" and got.loc["A81003", "none_recorded"] == ""
    q = got.loc["A81001"]
    assert (q["cannot_tell"] == "ended_ivr").all()  # a queue_log sees no menu endings...
    notes = system_notes(got.reset_index())
    why = notes.set_index(["practice_id", "category"])["why"]
    assert "reached a queue" in why[("A81001", "ended_ivr")]
    assert "call-back" in why[("A81002", "callback_requested")]
    assert "no queue abandons" in why[("A81003", "missed")]


def test_two_systems_in_one_period_are_both_named():
    rows = [("A81001", "2026-01-05 09:00", "inbound", "answered", 10.0, "asterisk_queue_log"),
            ("A81001", "2026-01-06 09:00", "inbound", "answered", 10.0, "threecx_cdr")]
    got = cbt_outcomes(_calls(rows), "month")
    assert got["source_format"].tolist() == ["asterisk_queue_log+threecx_cdr"]
    assert got["cannot_tell"].tolist() == ["callback_requested; ended_ivr"]


def test_unknown_outcome_word_is_refused_with_the_known_ones():
    calls = _calls([("A81001", "2026-01-05 09:00", "inbound", "hung_up", 10.0, "asterisk_queue_log")])
    with pytest.raises(MetricsInputError, match="Unknown outcome.*hung_up.*Known outcomes: answered"):
        cbt_outcomes(calls)
