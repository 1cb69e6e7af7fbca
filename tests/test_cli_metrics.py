"""``frontdoor metrics``: the numbers printed are the library's, the period is what managers mean.

One small demo store is built per module (three practices, three weeks from Monday 17 March
2025, so the spring clock change on Sunday 30 March and the March/April month boundary are
inside it), through the normal ingest path.
"""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main

START = "2025-03-17"  # a Monday
PRACTICES = ("A81001", "A81002", "A81003")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import datetime as dt

    from demand.simulation.demo import run_demo

    out = tmp_path_factory.mktemp("metrics_demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
        res = run_demo(out, weeks=3, seed=3, start_date=dt.date(2025, 3, 17))
    return res.store


@pytest.fixture(scope="module")
def store(demo):
    from telephony.store import open_store

    return open_store(demo)


def run(demo, *args, fmt="csv"):
    res = CliRunner().invoke(main, ["metrics", *args, "--format", fmt, "--store", str(demo)])
    return res


def csv_frame(res) -> pd.DataFrame:
    assert res.exit_code == 0, res.output
    return pd.read_csv(io.StringIO(res.output), keep_default_na=True)


def assert_same_numbers(printed: pd.DataFrame, expected: pd.DataFrame, columns) -> None:
    for c in columns:
        exp = expected[c]
        if pd.api.types.is_bool_dtype(exp):
            assert printed[c].tolist() == exp.tolist(), c
        elif pd.api.types.is_numeric_dtype(exp):
            np.testing.assert_allclose(printed[c].to_numpy(dtype=float), exp.to_numpy(dtype=float), rtol=1e-12, err_msg=c)
        else:
            assert printed[c].astype(str).tolist() == exp.astype(str).tolist(), c


def test_queue_csv_is_the_library_frame_with_to_inclusive(demo, store):
    from demand.queue import queue_metrics

    res = run(demo, "queue", "--practice", "A81002", "--from", "2025-03-24", "--to", "2025-03-30")
    got = csv_frame(res)
    calls = store.read_calls(["A81002"])
    exp = queue_metrics(calls, "D", start="2025-03-24", end="2025-03-31")
    assert list(got.columns) == list(exp.columns)
    # --to is included: Monday 24 to Sunday 30 March is seven days, nothing of the 31st
    assert got["interval_start"].tolist() == [f"2025-03-{d}" for d in range(24, 31)]
    assert got["interval_end"].tolist()[-1] == "2025-03-31"
    assert_same_numbers(got, exp, [c for c in exp.columns if c not in ("interval_start", "interval_end")])
    assert got["offered"].sum() > 100  # a real week of calls, not a frame of zeros


def test_queue_hourly_on_the_spring_change_is_local_time(demo, store):
    from demand.queue import queue_metrics

    res = run(demo, "queue", "--practice", "A81001", "--from", "2025-03-30", "--to", "2025-03-31",
              "--freq", "hour", "--short-abandon-seconds", "5", "--service-level-seconds", "30")
    got = csv_frame(res)
    assert len(got) == 23 + 24  # the clocks went forward: no 01:00 on the 30th
    assert got["interval_start"].iloc[0] == "2025-03-30T00:00:00+00:00"
    assert got["interval_start"].iloc[1] == "2025-03-30T02:00:00+01:00"
    assert got["interval_start"].iloc[23 + 8] == "2025-03-31T08:00:00+01:00"
    exp = queue_metrics(store.read_calls(["A81001"]), "h", short_abandon_s=5, service_s=30,
                        start="2025-03-30", end="2025-04-01")
    assert_same_numbers(got, exp, ["inbound_total", "short_abandons", "answered_within_service", "service_level", "asa_s"])


def test_queue_by_line_and_all_practices_by_default(demo, store):
    from demand.queue import queue_metrics

    got = csv_frame(run(demo, "queue", "--from", "2025-03-17", "--to", "2025-04-06", "--freq", "week", "--by-line"))
    exp = queue_metrics(store.read_calls(), "W", by_line=True, start="2025-03-17", end="2025-04-07")
    assert sorted(set(got["practice_id"])) == list(PRACTICES)
    assert list(got.columns)[:3] == ["practice_id", "line", "interval_start"]
    assert_same_numbers(got, exp, ["practice_id", "line", "offered", "answered", "abandoned", "wait_p90_s"])


def test_queue_table_is_readable(demo):
    res = run(demo, "queue", "--practice", "A81001", "--from", "2025-03-24", "--to", "2025-03-24", "--freq", "hour", fmt="table")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert len(lines) == 1 + 24
    head = lines[0].split()
    assert head[:4] == ["practice_id", "interval_start", "inbound_total", "offered"]
    assert "interval_end" not in head and "busy" not in head  # csv/json only
    eight = next(line for line in lines if "2025-03-24 08:00" in line)
    assert "%" in eight  # rates as percentages
    night = next(line for line in lines if "2025-03-24 03:00" in line)
    assert night.split()[-1] == "-"  # no answered call: mean talk time undefined, not 0


def test_callers_day_and_hour(demo, store):
    from demand.callers import caller_metrics_daily, caller_metrics_hourly

    calls = store.read_calls(["A81003"])
    got = csv_frame(run(demo, "callers", "--practice", "A81003", "--from", "2025-03-17", "--to", "2025-03-23"))
    exp = caller_metrics_daily(calls, start="2025-03-17", end="2025-03-24")
    assert list(got.columns) == list(exp.columns)
    assert got["date"].tolist() == [f"2025-03-{d}" for d in range(17, 24)]
    assert_same_numbers(got, exp, ["attempts", "unique_callers", "got_through", "redial_ratio", "time_to_get_through_p90_s"])
    assert (got["attempts"] >= got["unique_callers"]).all() and got["attempts"].iloc[0] > got["unique_callers"].iloc[0]

    hourly = csv_frame(run(demo, "callers", "--practice", "A81003", "--from", "2025-03-17", "--to", "2025-03-17", "--freq", "hour"))
    exp_h = caller_metrics_hourly(calls, start="2025-03-17", end="2025-03-18")
    assert list(hourly.columns) == list(exp_h.columns)
    assert hourly["hour"].tolist() == list(range(24))
    assert_same_numbers(hourly, exp_h, ["attempts", "new_callers", "repeat_attempts"])
    assert hourly["new_callers"].sum() == got["unique_callers"].iloc[0]


def test_nhs_json_parses_and_matches(demo, store):
    from demand.queue import nhs_metrics

    res = run(demo, "nhs", "--practice", "A81001", "--practice", "A81003", "--from", "2025-03-17", "--to", "2025-04-06", fmt="json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    exp = nhs_metrics(store.read_calls(["A81001", "A81003"]), "month", start="2025-03-17", end="2025-04-07")
    assert [(r["practice_id"], r["month"]) for r in rows] == [
        ("A81001", "2025-03-01"), ("A81001", "2025-04-01"), ("A81003", "2025-03-01"), ("A81003", "2025-04-01")
    ]
    got = pd.DataFrame(rows)
    assert list(got.columns) == list(exp.columns)
    assert_same_numbers(got, exp, ["inbound_calls", "answered", "callbacks_made", "time_to_answer_mean_s", "mean_call_duration_s"])
    # undefined values are null, not NaN (which is not JSON)
    assert "NaN" not in res.output

    hours = csv_frame(run(demo, "nhs", "--practice", "A81001", "--from", "2025-03-17", "--to", "2025-03-31", "--by", "hour"))
    assert len(hours) == 24  # one month in the period: 24 hours of it
    assert hours["hour"].tolist() == list(range(24))


def test_capacity_with_the_days_exhaustion(demo, store):
    from demand.appointments.schema import read_appointments
    from demand.capacity import capacity_metrics, same_day_exhaustion

    got = csv_frame(run(demo, "capacity", "--practice", "A81002", "--from", "2025-03-24", "--to", "2025-03-28", "--by", "role"))
    slots = read_appointments(store, ["A81002"])
    cap = capacity_metrics(slots, by=("role",), start="2025-03-24", end="2025-03-29")
    ex = same_day_exhaustion(slots, start="2025-03-24", end="2025-03-29")
    assert list(got.columns) == list(cap.columns) + [
        "day_same_day_released", "day_same_day_booked", "day_booked_time_unknown",
        "same_day_exhausted", "same_day_exhausted_at",
    ]
    assert_same_numbers(got, cap, ["date", "session", "role", "slots_offered", "booked", "utilisation", "lead_same_day"])
    day = got.drop_duplicates("date").set_index("date")
    assert day["day_same_day_released"].tolist() == ex["same_day_released"].tolist()
    assert day["same_day_exhausted"].tolist() == ex["exhausted"].tolist()
    when = ex["exhausted_at"].dropna()
    assert len(when) > 0
    assert day["same_day_exhausted_at"].dropna().tolist() == [t.isoformat() for t in when]


def test_pressure_and_monday_profile(demo, store):
    from demand.appointments.schema import read_appointments
    from demand.demand_capacity import demand_capacity, monday_profile

    calls, slots = store.read_calls(["A81001"]), read_appointments(store, ["A81001"])
    got = csv_frame(run(demo, "pressure", "--practice", "A81001", "--from", "2025-03-17", "--to", "2025-03-21"))
    exp = demand_capacity(calls, slots, start="2025-03-17", end="2025-03-22")
    assert list(got.columns) == list(exp.columns)
    assert len(got) == 5 * 2
    assert_same_numbers(got, exp, ["session", "unique_callers", "same_day_released", "pressure_index", "turned_away"])

    prof = csv_frame(run(demo, "pressure", "--practice", "A81001", "--from", "2025-03-17", "--to", "2025-04-06", "--monday-profile"))
    exp_p = monday_profile(calls, slots, start="2025-03-17", end="2025-04-07")  # no bank holiday in it
    assert len(prof) == 48
    assert_same_numbers(prof, exp_p, ["day_type", "hour", "days", "mean_attempts", "monday_share_callers"])
    assert prof["days"].iloc[0] == 3 and prof["full_weeks"].iloc[0] == 3


def test_monday_profile_leaves_bank_holidays_out(tmp_path, key):
    import datetime as dt

    from demand.simulation.demo import run_demo

    # Good Friday 18 April and Easter Monday 21 April 2025 are England's bank holidays
    res = run_demo(tmp_path / "easter", weeks=2, seed=4, start_date=dt.date(2025, 4, 14))
    got = csv_frame(run(res.store, "pressure", "--practice", "A81001", "--from", "2025-04-14", "--to", "2025-04-27", "--monday-profile"))
    assert (got.loc[got["day_type"] == "Monday", "days"] == 1).all()  # 14 April only
    assert (got.loc[got["day_type"] == "Tuesday-Friday", "days"] == 3 + 4).all()  # not the 18th
    assert (got["full_weeks"] == 0).all()  # each week holds a bank holiday
    assert got["monday_share_callers"].isna().all()


def test_workforce_views(demo, store):
    from demand.appointments.schema import read_appointments
    from demand.workforce import consultation_length, continuity, skill_mix

    slots = read_appointments(store)
    got = csv_frame(run(demo, "workforce", "--from", "2025-03-17", "--to", "2025-04-06"))
    exp = skill_mix(slots, {"A81001": 6000, "A81002": 9000, "A81003": 12000}, start="2025-03-17", end="2025-04-07")
    assert list(got.columns) == list(exp.columns)
    assert sorted(set(got["list_size"])) == [6000, 9000, 12000]  # from the practices registry
    assert_same_numbers(got, exp, ["practice_id", "month", "role", "appointments", "sessions_per_1000"])

    cons = csv_frame(run(demo, "workforce", "--practice", "A81002", "--from", "2025-03-17", "--to", "2025-04-06", "--view", "consultation"))
    exp_c = consultation_length(slots[slots["practice_id"] == "A81002"], start="2025-03-17", end="2025-04-07")
    assert_same_numbers(cons, exp_c, ["role", "mode", "attended", "duration_p90_min"])

    cont = csv_frame(run(demo, "workforce", "--practice", "A81003", "--from", "2025-04-01", "--to", "2025-04-06", "--view", "continuity"))
    # the March history is read although the period starts in April
    exp_t = continuity(slots[slots["practice_id"] == "A81003"], start="2025-04-01", end="2025-04-07")
    assert cont["month"].tolist() == ["2025-04-01"]
    assert_same_numbers(cont, exp_t, ["gp_appointments", "with_usual_gp_known", "with_usual_gp", "slicc", "full_history"])
    assert cont["with_usual_gp_known"].iloc[0] > 0


def test_skill_mix_without_a_list_size_is_a_one_line_error(demo, tmp_path):
    from telephony.practices import read_practices, write_practices
    from telephony.store import open_store

    copy = tmp_path / "store"
    shutil.copytree(demo, copy)
    reg = read_practices(open_store(copy))
    reg.loc[reg["practice_id"] == "A81002", "list_size"] = None
    write_practices(open_store(copy), reg)
    res = run(copy, "workforce", "--practice", "A81001", "--practice", "A81002", "--from", "2025-03-17", "--to", "2025-03-23")
    assert res.exit_code == 1
    assert res.output == (
        f"Error: No list size for A81002 in the practices registry ({copy / 'practices.parquet'}): "
        "skill mix per 1,000 patients needs each practice's registered list size.\n"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["queue", "--practice", "Z99999", "--from", "2025-03-17", "--to", "2025-03-23"],
         "Unknown practice Z99999: the store at {store} holds A81001, A81002, A81003."),
        (["callers", "--practice", "A81001", "--from", "2026-06-01", "--to", "2026-06-07"],
         "No calls from 2026-06-01 to 2026-06-07 for A81001 (its calls cover 2025-03 to 2025-04)."),
        (["queue", "--practice", "A81001", "--from", "2025-03-23", "--to", "2025-03-17"],
         "The period is empty: the last date 2025-03-17 is before the first date 2025-03-23."),
        (["callers", "--practice", "A81001", "--from", "2025-03-17", "--to", "2025-03-23", "--freq", "week"],
         "callers is reported per day or hour, not per week."),
        (["capacity", "--practice", "A81001", "--from", "2025-03-17", "--to", "2025-03-23", "--freq", "month"],
         "capacity is reported per day, not per month."),
        (["nhs", "--practice", "a81001!", "--from", "2025-03-17", "--to", "2025-03-23"],
         "practice id 'a81001!' is not an ODS code: use 3-10 letters and digits, e.g. A81001"),
    ],
    ids=["unknown practice", "empty period", "to before from", "callers weekly", "capacity monthly", "bad id"],
)
def test_user_errors_are_one_line_with_exit_1(demo, args, message):
    res = run(demo, *args, fmt="table")
    assert res.exit_code == 1
    assert res.output == "Error: " + message.format(store=demo) + "\n"


def test_capacity_without_slot_exports(tmp_path, key):
    from tests.test_cli import QUEUE_LOG

    f = tmp_path / "queue_log"
    f.write_text(QUEUE_LOG)
    store = tmp_path / "store"
    assert CliRunner().invoke(main, ["ingest", "calls", str(f), "--practice", "A81001", "--store", str(store)]).exit_code == 0
    for cmd in ("capacity", "pressure"):
        res = run(store, cmd, "--practice", "A81001", "--from", "2026-01-05", "--to", "2026-01-05", fmt="table")
        assert res.exit_code == 1
        assert res.output == (
            "Error: No appointment slots from 2026-01-05 to 2026-01-05 for A81001 (none in the store); "
            "ingest slot exports with 'frontdoor ingest appointments'.\n"
        )
    # the calls themselves measure fine: one answered, one abandoned after 90 s
    got = csv_frame(run(store, "queue", "--practice", "A81001", "--from", "2026-01-05", "--to", "2026-01-05"))
    assert got[["offered", "answered", "abandoned", "short_abandons"]].iloc[0].tolist() == [2, 1, 1, 0]


def test_missing_store_is_one_line(tmp_path):
    res = run(tmp_path / "nowhere", "queue", "--from", "2025-03-17", "--to", "2025-03-23", fmt="table")
    assert res.exit_code == 1
    assert res.output.count("\n") == 1 and res.output.startswith("Error: no store at ")


# ----------------------------------------------------------------------------- periods out of reach


@pytest.mark.parametrize(
    "first, last, message",
    [
        # OverflowError before: years Python's dates hold, pandas' nanoseconds not
        ("0001-01-01", "2025-03-23", "The first date 0001-01-01 is outside the years Frontdoor measures (1970 to 2199); check the year."),
        # ValueError ('list' argument must have no negative elements): int64 nanoseconds overflowed
        ("1700-01-01", "2025-03-23", "The first date 1700-01-01 is outside the years Frontdoor measures (1970 to 2199); check the year."),
        ("2025-03-17", "9999-12-31", "The last date 9999-12-31 is outside the years Frontdoor measures (1970 to 2199); check the year."),
        ("1900-01-01", "2100-12-31", "The first date 1900-01-01 is outside the years Frontdoor measures (1970 to 2199); check the year."),
    ],
)
def test_metrics_period_in_years_out_of_range_is_one_line(demo, first, last, message):
    res = run(demo, "queue", "--from", first, "--to", last, fmt="table")
    assert res.exit_code == 1, res.output
    assert res.output == f"Error: {message}\n"


def test_metrics_period_whose_15min_grid_is_absurd_says_how_many_rows(demo):
    """1970 to 2199 in quarter hours was a MemoryError after minutes: now refused before the
    store is read, with about how many rows it would have been and what to do instead."""
    import re
    import time

    t0 = time.perf_counter()
    res = run(demo, "queue", "--from", "1970-01-01", "--to", "2199-12-31", "--freq", "15min", fmt="table")
    assert time.perf_counter() - t0 < 10
    assert res.exit_code == 1, res.output
    line = res.output.strip()
    assert line.startswith("Error: The period 1970-01-01 to 2199-12-31 in 15-minute intervals would be about ")
    assert line.endswith(
        "rows (3 practices), more than the 2,000,000 a metric lays out: take a longer interval "
        "(freq 30min, hour, day, week or month) or a shorter period."
    )
    said = int(re.search(r"about ([\d,]+) rows", line).group(1).replace(",", ""))
    days = (pd.Timestamp("2200-01-01") - pd.Timestamp("1970-01-01")).days
    assert abs(said - 3 * 96 * days) <= 3 * 96  # every practice's quarter hours, within a day


def test_metrics_long_period_in_days_still_measures(demo):
    """The guard is on the grid's size, not the period's length: 230 years of days is 84,000
    rows a practice, and is measured (the demo's weeks inside it, zeros elsewhere)."""
    got = csv_frame(run(demo, "queue", "--practice", "A81002", "--from", "1970-01-01", "--to", "2199-12-31", "--freq", "day"))
    assert len(got) == (pd.Timestamp("2200-01-01") - pd.Timestamp("1970-01-01")).days
    assert got["offered"].sum() > 1000 and got.loc[got["interval_start"] < "2025-03-17", "offered"].sum() == 0



def test_a_registered_practice_without_calls_is_not_in_all_practices(demo, tmp_path):
    """National files put every practice in England in the registry: "all practices" of a
    metric are those with calls, and an error lists a dozen codes at most."""
    from telephony.practices import codes_for_message, update_registry
    from telephony.store import open_store

    copy = tmp_path / "store"
    shutil.copytree(demo, copy)
    extra = pd.DataFrame({"practice_id": [f"B{i:05d}" for i in range(20)], "list_size": [4000] * 20})
    update_registry(open_store(copy), extra, source="test")
    res = run(copy, "queue", "--from", "2025-03-17", "--to", "2025-03-23", "--freq", "day")
    assert res.exit_code == 0, res.output
    assert set(csv_frame(res)["practice_id"]) == set(PRACTICES)
    bad = run(copy, "queue", "--practice", "Z99999", "--from", "2025-03-17", "--to", "2025-03-23")
    assert bad.output == f"Error: Unknown practice Z99999: the store at {copy} holds A81001, A81002, A81003.\n"
    assert codes_for_message([f"Z{i:05d}" for i in range(30)]).endswith("Z00011 and 18 more")

def test_without_a_period_metrics_take_the_last_complete_week(demo):
    # the demo's calls run to Sunday 6 April 2025: 2025-W14 is complete
    default = run(demo, "queue", "--practice", "A81001", "--freq", "day")
    named = run(demo, "queue", "--practice", "A81001", "--freq", "day", "--from", "2025-03-31", "--to", "2025-04-06")
    assert default.exit_code == 0, default.output
    assert "period: 2025-W14 (2025-03-31 to 2025-04-06)" in default.stderr
    assert default.stdout == named.stdout and len(pd.read_csv(io.StringIO(default.stdout))) == 7
    half = run(demo, "queue", "--practice", "A81001", "--from", "2025-03-31")
    assert half.exit_code == 2 and "Give both --from and --to, or neither" in half.output
