"""Series for the models: from any long-format file, and from the store's demand metrics."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from demand.appointments.schema import APPOINTMENT_SCHEMA
from forecasting.base import ForecastInputError
from forecasting.calendar import CalendarError
from forecasting.series import (
    calendars_from_registry,
    complete_grid,
    read_series,
    series_from_calls,
    series_from_store,
    to_wall_clock,
)
from telephony.schema import CALL_SCHEMA, to_arrow
from tests.demand.conftest import call, frame
from tests.demand.slot_builders import slot, slots_frame


def write(path, text: str):
    path.write_text(text)
    return path


# --- read_series ---------------------------------------------------------------------------


def test_csv_without_unique_id_takes_the_file_name(tmp_path):
    p = write(tmp_path / "ed_arrivals.csv", "ds,y\n2026-01-05 08:00,3\n2026-01-05 09:00,5\n2026-01-05 10:00,0\n")
    df = read_series(p)
    assert df.columns.tolist() == ["unique_id", "ds", "y"]
    assert df["unique_id"].unique().tolist() == ["ed_arrivals"]
    assert df["y"].tolist() == [3.0, 5.0, 0.0]
    assert df["ds"].iloc[1] == pd.Timestamp("2026-01-05 09:00")


def test_parquet_with_several_series_and_odd_column_case(tmp_path):
    ds = pd.date_range("2026-01-05", periods=3, freq="D")
    raw = pd.DataFrame({"Unique_ID": ["a"] * 3 + ["b"] * 3, "DS": list(ds) * 2, "Y": [1, 2, 3, 4, 5, 6], "note": "x"})
    raw.to_parquet(tmp_path / "s.parquet")
    df = read_series(tmp_path / "s.parquet")
    assert df.groupby("unique_id")["y"].sum().to_dict() == {"a": 6.0, "b": 15.0}


def test_missing_columns_are_named(tmp_path):
    p = write(tmp_path / "s.csv", "date,calls\n2026-01-05,3\n")
    with pytest.raises(ForecastInputError, match="s.csv lacks column\\(s\\) ds, y.*columns are: date, calls"):
        read_series(p)


def test_duplicated_and_irregular_timestamps(tmp_path):
    dup = write(tmp_path / "dup.csv", "ds,y\n2026-01-05 08:00,3\n2026-01-05 08:00,4\n2026-01-05 09:00,1\n")
    with pytest.raises(ForecastInputError, match="dup.csv: 1 repeated timestamp.*2026-01-05 08:00"):
        read_series(dup)
    gap = write(tmp_path / "gap.csv", "ds,y\n2026-01-05 08:00,3\n2026-01-05 09:00,4\n2026-01-05 11:00,1\n2026-01-05 12:00,2\n")
    with pytest.raises(ForecastInputError, match="not a regular h grid: 2026-01-05 09:00:00 is followed by 2026-01-05 11:00"):
        read_series(gap)
    filled = read_series(gap, fill_missing=0)
    assert filled["y"].tolist() == [3.0, 4.0, 0.0, 1.0, 2.0]
    odd = write(tmp_path / "odd.csv", "ds,y\n2026-01-05 08:00,3\n2026-01-05 08:07,4\n")
    with pytest.raises(ForecastInputError, match="commonest step.*0 days 00:07:00"):
        read_series(odd)


def test_bad_files(tmp_path):
    with pytest.raises(ForecastInputError, match="no such file"):
        read_series(tmp_path / "none.csv")
    with pytest.raises(ForecastInputError, match="give a .csv or .parquet"):
        read_series(write(tmp_path / "s.xlsx", "x"))
    with pytest.raises(ForecastInputError, match="negative counts"):
        read_series(write(tmp_path / "neg.csv", "ds,y\n2026-01-05,3\n2026-01-06,-1\n"))
    with pytest.raises(ForecastInputError, match="not readable as date-times"):
        read_series(write(tmp_path / "dates.csv", "ds,y\nMonday,3\nTuesday,1\n"))


def test_utc_offsets_across_the_autumn_change_merge_the_repeated_hour(tmp_path):
    text = "ds,y\n" + "\n".join(
        [
            "2026-10-25T00:00:00+01:00,1",
            "2026-10-25T01:00:00+01:00,2",
            "2026-10-25T01:00:00+00:00,3",
            "2026-10-25T02:00:00+00:00,4",
        ]
    )
    df = read_series(write(tmp_path / "dst.csv", text))
    assert df["ds"].dt.strftime("%H:%M").tolist() == ["00:00", "01:00", "02:00"]
    assert df["y"].tolist() == [1.0, 5.0, 4.0]


def test_spring_change_hour_is_filled_with_zero():
    aware = pd.DataFrame(
        {
            "unique_id": "P",
            "ds": pd.DatetimeIndex(["2026-03-29 00:00", "2026-03-29 02:00", "2026-03-29 03:00"]).tz_localize("Europe/London"),
            "y": [1.0, 2.0, 3.0],
        }
    )
    wall = complete_grid(to_wall_clock(aware), "h")
    assert wall["ds"].dt.hour.tolist() == [0, 1, 2, 3] and wall["y"].tolist() == [1.0, 0.0, 2.0, 3.0]


# --- the store -----------------------------------------------------------------------------


def _commit_calls(store, calls: pd.DataFrame) -> None:
    months = calls["start_utc"].dt.strftime("%Y-%m")
    for (pid, month), part in calls.groupby([calls["practice_id"].astype(str), months]):
        store.commit_partition("calls", pid, month, [to_arrow(part)], "call_id", "start_utc", CALL_SCHEMA)


@pytest.fixture
def call_store(store):
    calls = frame(
        call("2026-10-19 08:15", caller="07700900101", wait=30),
        call("2026-10-19 08:40", caller="07700900101", outcome="abandoned", wait=50),
        call("2026-10-19 08:20", caller="07700900102", outcome="ivr_abandoned"),
        call("2026-10-19 14:05", caller="07700900103"),
        call("2026-10-25 01:30+01:00", caller="07700900104"),  # the two 01:30s of the autumn change
        call("2026-10-25 01:30+00:00", caller="07700900105"),
        call("2026-10-27 16:10", caller="07700900106", outcome="missed"),
        call("2026-10-20 09:00", caller="07700900201", practice="B82002"),
    )
    _commit_calls(store, calls)
    return store


def test_offered_calls_per_hour_in_wall_clock_time(call_store):
    df = series_from_store(call_store, "A81001", "2026-10-19", "2026-10-27", freq="h", what="offered")
    assert len(df) == 9 * 24  # nine wall-clock days of 24 hours: the autumn 25th has 24 rows too
    at = df.set_index("ds")["y"]
    assert at[pd.Timestamp("2026-10-19 08:00")] == 2  # answered + abandoned; the IVR hang-up is not offered
    assert at[pd.Timestamp("2026-10-25 01:00")] == 2  # both 01:00 hours in one period
    assert at[pd.Timestamp("2026-10-27 16:00")] == 1
    assert at.sum() == 6
    calls = series_from_store(call_store, "A81001", "2026-10-19", "2026-10-27", freq="h", what="calls")
    assert calls.set_index("ds")["y"][pd.Timestamp("2026-10-19 08:00")] == 3


def test_series_from_calls_is_the_store_series(call_store):
    calls = call_store.read_calls("A81001")
    for what in ("offered", "unique_callers"):
        direct = series_from_calls(calls, "h", what, start="2026-10-19", end="2026-10-28")
        stored = series_from_store(call_store, "A81001", "2026-10-19", "2026-10-27", freq="h", what=what)
        pd.testing.assert_frame_equal(direct, stored)
    with pytest.raises(ForecastInputError, match="pass slots="):
        series_from_calls(calls, "D", "same_day_demand")


def test_unique_callers_and_daily_series(call_store):
    h = series_from_store(call_store, "A81001", "2026-10-19", "2026-10-20", freq="h", what="unique_callers")
    at = h.set_index("ds")["y"]
    assert at[pd.Timestamp("2026-10-19 08:00")] == 2  # caller 101 rang twice, 102 once
    d = series_from_store(call_store, "A81001", "2026-10-19", "2026-10-20", freq="D", what="unique_callers")
    assert d["y"].tolist() == [3.0, 0.0]


def test_without_dates_each_practice_runs_from_its_first_day_to_its_last_call(call_store):
    df = series_from_store(call_store, freq="h")
    spans = df.groupby("unique_id")["ds"].agg(["min", "max"])
    assert spans.loc["A81001"].tolist() == [pd.Timestamp("2026-10-19 00:00"), pd.Timestamp("2026-10-27 16:00")]
    assert spans.loc["B82002"].tolist() == [pd.Timestamp("2026-10-20 00:00"), pd.Timestamp("2026-10-20 09:00")]


def test_same_day_demand_is_booked_plus_turned_away(store):
    calls = frame(
        call("2026-10-19 08:01", caller="07700900101", wait=0),
        call("2026-10-19 09:00", caller="07700900102", wait=0),  # after the last same-day slot went
        call("2026-10-20 08:30", caller="07700900103", wait=0),
    )
    _commit_calls(store, calls)
    slots = slots_frame(
        slot("2026-10-19 10:00", category="same_day", booked="2026-10-19 08:02", patient="pt-1"),
        slot("2026-10-19 10:10", category="same_day", booked="2026-10-19 08:05", patient="pt-2"),
        slot("2026-10-20 10:00", category="same_day", status="available"),
    )
    store.commit_partition(
        "appointments", "A81001", "2026-10", [pa.Table.from_pandas(slots, schema=APPOINTMENT_SCHEMA, preserve_index=False)],
        "slot_id", "start_utc", APPOINTMENT_SCHEMA,
    )
    df = series_from_store(store, "A81001", "2026-10-19", "2026-10-20", freq="D", what="same_day_demand")
    assert df["y"].tolist() == [3.0, 0.0]  # Monday: 2 booked + 1 turned away; Tuesday: a slot left, none booked


def test_store_argument_errors(call_store):
    with pytest.raises(ForecastInputError, match="same_day_demand is counted per D, not per h"):
        series_from_store(call_store, "A81001", "2026-10-19", "2026-10-20", freq="h", what="same_day_demand")
    with pytest.raises(ForecastInputError, match="Unknown series 'demand'"):
        series_from_store(call_store, what="demand")
    from demand.metrics import NoMetricsDataError

    with pytest.raises(NoMetricsDataError, match="C83003"):
        series_from_store(call_store, "C83003", "2026-10-19", "2026-10-20")


def test_calendars_from_the_registry():
    reg = pd.DataFrame({"practice_id": ["A81001", "B82002"], "opening_hours": ["Mon-Fri 08:00-18:00; Sat 09:00-12:00", None]})
    cals = calendars_from_registry(reg, nation="WLS")
    assert cals["A81001"].hours.spans[5] == ((540, 720),) and cals["A81001"].nation == "WLS"
    assert cals["B82002"].hours.spans[0] == ((480, 1110),)
    with pytest.raises(CalendarError, match="Practice A81001"):
        calendars_from_registry(pd.DataFrame({"practice_id": ["A81001"], "opening_hours": ["weekdays"]}))
