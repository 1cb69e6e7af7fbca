"""``frontdoor forecast | backtest | staff``: the numbers printed are the library's.

One small demo store per module (three practices, five weeks from Monday 6 January 2025, so the
history ends on Sunday 9 February and 2025-W07 is the week after it), built through the normal
ingest path. Only the fast models run here (seasonal naive, seasonal average, auto).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main

PRACTICE = "A81002"
NEXT_WEEK = "2025-W07"  # Monday 10 February 2025, the week after the demo's five weeks


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    import datetime as dt

    from demand.simulation.demo import run_demo

    out = tmp_path_factory.mktemp("forecast_demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
        res = run_demo(out, weeks=5, seed=3, start_date=dt.date(2025, 1, 6))
    return res.store


@pytest.fixture(scope="module")
def store(demo):
    from telephony.store import open_store

    return open_store(demo)


def run(demo, *args, fmt="csv"):
    return CliRunner().invoke(main, [*args, "--format", fmt, "--store", str(demo)])


def frame(res) -> pd.DataFrame:
    assert res.exit_code == 0, res.output
    return pd.read_csv(io.StringIO(res.stdout))


def one_line_error(res, *fragments):
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    err = res.stderr.strip().splitlines()[-1]
    assert err.startswith("Error: ")
    for f in fragments:
        assert f in err, err
    assert "Traceback" not in res.output


def test_forecast_prints_the_library_forecast_with_closed_hours_zero(demo, store):
    from forecasting.pipeline import read_practice_series
    from forecasting.temporal import coherent_forecasts

    got = frame(run(demo, "forecast", "--practice", PRACTICE, "--freq", "hour", "--horizon", "1w", "--model", "seasonal_average"))
    df, cal = read_practice_series(store, PRACTICE, "offered", "h")
    daily, _ = read_practice_series(store, PRACTICE, "offered", "D")
    _d, exp, _dm, _m = coherent_forecasts(df, "seasonal_average", 7, cal, daily_history=daily)
    assert len(got) == 168 and list(got.columns) == list(exp.columns)
    np.testing.assert_allclose(got["SeasonalAverage"], exp["SeasonalAverage"], rtol=1e-12)
    ds = pd.to_datetime(got["ds"])
    # the first period of the horizon: midnight after the last day of data, not its evening
    assert ds.iloc[0] == df["ds"].max().normalize() + pd.Timedelta(days=1)
    closed = (ds.dt.day_of_week >= 5) | (ds.dt.hour < 8) | (ds.dt.hour >= 19)
    assert (got.loc[closed, "SeasonalAverage"] == 0).all()
    assert got.loc[~closed, "SeasonalAverage"].sum() > 100  # a real week of calls
    assert (got["SeasonalAverage-lo-80"] <= got["SeasonalAverage"] + 1e-9).all()
    assert (got["SeasonalAverage-hi-80"] <= got["SeasonalAverage-hi-95"] + 1e-9).all()


@pytest.mark.parametrize("freq", ["hour", "30min"])
def test_forecast_hours_add_up_to_the_days(demo, freq):
    days = frame(run(demo, "forecast", "--practice", PRACTICE, "--freq", "day", "--horizon", "1w"))
    fine = frame(run(demo, "forecast", "--practice", PRACTICE, "--freq", freq, "--horizon", "1w"))
    day = pd.to_datetime(fine["ds"]).dt.normalize()
    point = [c for c in days.columns if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c][0]
    sums = fine.groupby(day)[point].sum()
    assert list(sums.index) == list(pd.to_datetime(days["ds"]))
    np.testing.assert_allclose(sums.to_numpy(), days[point].to_numpy(), rtol=1e-9, atol=1e-9)
    assert days[point].max() > 50


def test_forecast_for_people_is_daily_totals_rounded_with_intervals(demo):
    res = run(demo, "forecast", "--practice", PRACTICE, "--model", "seasonal_average", fmt="table")
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].split() == ["day", "forecast", "80%", "interval", "95%", "interval"]
    assert len(lines) == 1 + 7
    exact = frame(run(demo, "forecast", "--practice", PRACTICE, "--model", "seasonal_average"))
    for line, (_, x) in zip(lines[1:], exact.iterrows()):
        d = pd.Timestamp(x["ds"])
        assert line.split()[:4] == [d.strftime("%a"), str(d.day), d.strftime("%b"), str(d.year)]
        if x["SeasonalAverage"] == 0:
            assert line.split()[4] == "closed"
        else:
            lo, hi = line.split()[5].split("\u2013")
            assert int(line.split()[4]) == int(np.floor(x["SeasonalAverage"] + 0.5))
            assert (int(lo), int(hi)) == (int(np.floor(x["SeasonalAverage-lo-80"] + 0.5)), int(np.floor(x["SeasonalAverage-hi-80"] + 0.5)))
    # starts on the first day after the data, a Saturday for a week of data ending on a Friday
    assert pd.Timestamp(exact["ds"].iloc[0]).normalize() == pd.Timestamp(exact["ds"].iloc[0])


def test_forecast_reads_a_series_file(demo, store, tmp_path):
    from forecasting.models import SeasonalAverage
    from forecasting.series import series_from_store

    daily = series_from_store(store, PRACTICE, freq="D", what="offered")
    path = tmp_path / "daily.csv"
    daily[["ds", "y"]].to_csv(path, index=False)
    res = CliRunner().invoke(
        main, ["forecast", "--input", str(path), "--freq", "day", "--horizon", "14", "--model", "seasonal_average", "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    got = pd.read_json(io.StringIO(res.stdout))
    exp = SeasonalAverage().fit(daily.assign(unique_id="daily")).predict(14)
    assert len(got) == 14 and set(got["unique_id"]) == {"daily"}
    np.testing.assert_allclose(got["SeasonalAverage"], exp["SeasonalAverage"], rtol=1e-12)


def test_backtest_marks_the_lowest_mase_and_saves_a_plot(demo, tmp_path):
    png = tmp_path / "bt.png"
    args = ["backtest", "--practice", PRACTICE, "--models", "seasonal_naive,seasonal_average", "--windows", "2"]
    got = frame(run(demo, *args, "--plot", str(png)))
    assert sorted(got["model"]) == ["seasonal_average", "seasonal_naive"]
    assert got["best"].sum() == 1
    assert got.loc[got["best"], "mase"].iloc[0] == got["mase"].min()
    assert (got["n"] > 50).all() and got["coverage_80"].between(0, 1).all()
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"
    table = run(demo, *args, fmt="table")
    assert table.exit_code == 0, table.output
    best_line = [ln for ln in table.stdout.splitlines() if "<- best" in ln]
    assert len(best_line) == 1 and best_line[0].split()[0] == got.loc[got["best"], "model"].iloc[0]


def test_staff_rota_is_shifts_within_headcount(demo):
    res = run(demo, "staff", "--practice", PRACTICE, "--week", NEXT_WEEK, "--shrinkage", "30", "--model", "seasonal_average",
              "--headcount", "Mon=3,Tue=2", "--shift-lengths", "4-8")
    rota = frame(res)
    ds = pd.to_datetime(rota["ds"])
    assert ds.min() >= pd.Timestamp("2025-02-10") and ds.max() < pd.Timestamp("2025-02-15")  # open weekdays only
    assert set(ds.dt.minute) <= {0, 30} and ds.dt.hour.min() == 8
    # stated for Monday and Tuesday, learned from who answered for the other days
    assert (rota.loc[ds.dt.day_of_week == 0, "headcount"] == 3).all()
    assert (rota.loc[ds.dt.day_of_week == 1, "headcount"] == 2).all()
    assert (rota["rostered"] <= rota["headcount"]).all()
    assert np.allclose(rota["on_phones"], rota["rostered"] * 0.7)
    assert np.allclose(rota["unmet"], np.maximum(0, rota["erlang_agents"] - rota["on_phones"]))
    assert rota["service_level"].notna().any() and rota["abandon_rate"].notna().any()
    assert "headcount Mon 3, Tue 2" in res.stderr and "stated and learned" in res.stderr
    assert "shifts of 4-8 hours" in res.stderr and "met in the simulation" in res.stderr
    shifts = frame(run(demo, "staff", "--practice", PRACTICE, "--week", NEXT_WEEK, "--model", "seasonal_average",
                       "--headcount", "Mon=3,Tue=2", "--shift-lengths", "4-8", "--view", "shifts", "--no-check-redials"))
    assert shifts["hours"].between(4, 8).all()
    # each day's people within that day's headcount (stated Mon 3, Tue 2; learned the others)
    heads = rota.assign(day=ds.dt.strftime("%a %d %b")).groupby("day")["headcount"].max()
    people = shifts.groupby("day")["people"].sum()
    assert (people <= heads.reindex(people.index)).all() and people["Mon 10 Feb"] <= 3 and people["Tue 11 Feb"] <= 2


def test_staff_sessions_are_the_reports_changes_to_the_usual_week(demo, store):
    from forecasting.outlook import read_same_day_plan, same_day_table

    res = run(demo, "staff", "--practice", PRACTICE, "--week", NEXT_WEEK, "--no-check-redials", "--view", "sessions",
              "--slots-per-session", "GP=10", "--model", "seasonal_average")
    s = frame(res)
    want = same_day_table(read_same_day_plan(store, PRACTICE, pd.Timestamp("2025-02-10").date(), "seasonal_average",
                                             slots_per_session={"GP": 10}))
    assert set(pd.to_datetime(s["date"]).dt.day_of_week) == {0, 1, 2, 3, 4}
    np.testing.assert_allclose(s["capacity_after"], want["capacity_after"])
    # (a cell starting with + is made inert for spreadsheets: a leading quote)
    assert s["changes"].fillna("").str.removeprefix("'").tolist() == want["changes"].tolist()
    # a stated GP session of 10 slots: every GP change adds or moves 10 slots
    assert ((s["short_after"] > 0) | (s["p_after"] <= 0.1)).all()
    # people read the same numbers, rounded
    table = run(demo, "staff", "--practice", PRACTICE, "--week", NEXT_WEEK, "--view", "sessions", "--slots-per-session",
                "GP=10", "--model", "seasonal_average", fmt="table")
    assert table.exit_code == 0, table.output
    lines = table.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["day", "session", "demand", "slots"] and len(lines) == 1 + len(want)


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["staff", "--practice", PRACTICE, "--week", "2025-7"], ["cannot read the week", "2026-W47"]),
        (["staff", "--practice", PRACTICE, "--week", "2025-W03"], ["inside", "history"]),
        (["staff", "--practice", PRACTICE, "--week", NEXT_WEEK, "--service-level", "80"], ["80/60"]),
        (["staff", "--practice", PRACTICE, "--week", NEXT_WEEK, "--headcount", "Funday=2"], ["Funday", "--headcount", "Mon=4,Tue=3"]),
        (["staff", "--practice", PRACTICE, "--week", NEXT_WEEK, "--shift-lengths", "3 to 8"], ["--shift-lengths", "3-8"]),
        (["forecast", "--practice", PRACTICE, "--model", "magic"], ["Unknown model 'magic'", "seasonal_average"]),
        (["backtest", "--practice", PRACTICE, "--models", "ets,magic"], ["magic", "seasonal_naive"]),
        (["forecast", "--practice", PRACTICE, "--what", "same_day_demand", "--freq", "hour"], ["same_day_demand", "D"]),
        (["forecast", "--practice", "Z99999"], ["Z99999"]),
        (["forecast", "--practice", PRACTICE, "--horizon", "soon"], ["Horizon", "1w"]),
    ],
)
def test_bad_input_is_a_one_line_error(demo, args, fragments):
    one_line_error(run(demo, *args), *fragments)


@pytest.mark.parametrize("command", ["forecast", "backtest", "staff"])
def test_help_has_examples(command):
    res = CliRunner().invoke(main, [command, "--help"])
    assert res.exit_code == 0 and "Example" in res.output and f"frontdoor {command}" in res.output


@pytest.mark.parametrize("practice", ["A81001", "A81003"])
def test_staff_erlang_staffs_first_attempts_and_the_simulation_checks_it(store, practice):
    from forecasting.outlook import staff_week
    from forecasting.planning.staffing import handlers_per_interval

    plan = staff_week(store, practice, NEXT_WEEK, model="seasonal_average", seeds=3)
    rota, s = plan.rota, plan.summary
    ds = pd.to_datetime(rota["ds"])
    at8 = (ds.dt.hour == 8) & (ds.dt.minute == 0)
    assert at8.sum() == 5
    erlang = handlers_per_interval(rota, s["aht_s"], s["patience_s"], 0.8, 60.0, 0.05, 0.3, interval="30min",
                                   column="first_attempts")["agents"].to_numpy()
    # Erlang A sees callers' first attempts, not calls offered: the requirement, not the rota
    np.testing.assert_array_equal(rota["erlang_agents"], erlang)
    # fewer first attempts than calls at 8am over the week and on most mornings (the demo,
    # calibrated to England, has about 11% of calls missed, so fewer redials than before)
    assert rota["first_attempts"][at8].sum() < rota["calls"][at8].sum()
    assert (rota["first_attempts"][at8] < rota["calls"][at8]).sum() >= 4
    # the rota never rosters more people than the practice has, and the gap is shown
    assert (rota["rostered"] <= rota["headcount"]).all() and s["headcount_source"] == "learned"
    assert (rota["unmet"] >= 0).all() and rota.loc[at8, "unmet"].gt(0).any()
    assert rota["service_level"].notna().all() and rota["abandon_rate"].notna().all()
    if s["met_in_simulation"]:
        assert s["not_met"] is None
    else:
        assert s["not_met"]["reason"] and len(s["not_met"]["failing"]) > 0
    # the opening rush, played for each number of handlers and for each lever
    rush = plan.rush
    assert rush is not None and rush.day.day_of_week == 0
    people = rush.table[rush.table["option"].str.startswith("handlers")]
    h = people["handlers_at_opening"].tolist()
    assert h[0] == 1 and all(b - a in (1, 2) for a, b in zip(h, h[1:]))
    assert people["within_headcount"].tolist() == [h <= rush.most for h in people["handlers_at_opening"]]
    assert set(rush.table["option"]) >= {"call-back offers", "same-day slots in two tranches", "online form"}
    assert set(rush.assumptions) == {"call-back offers", "same-day slots in two tranches", "online form"}
    assert ("cannot be met by the staff that exist" in rush.words) == (not rush.met_within_headcount)


def test_staff_without_a_week_plans_the_week_after_the_data_and_warns_far_ahead(demo):
    default = run(demo, "staff", "--practice", PRACTICE, "--view", "sessions", "--model", "seasonal_average")
    named = run(demo, "staff", "--practice", PRACTICE, "--week", NEXT_WEEK, "--view", "sessions", "--model", "seasonal_average")
    assert default.exit_code == 0, default.output
    assert f"staffing {NEXT_WEEK}: the week after 2025-W06" in default.stderr
    assert default.stdout == named.stdout and "Warning" not in named.stderr
    far = run(demo, "staff", "--practice", PRACTICE, "--week", "2025-W12", "--view", "sessions", "--model", "seasonal_average")
    assert far.exit_code == 0, far.output
    assert "Warning: 2025-W12 starts 5 weeks after A81002's last complete week of calls (2025-W06)" in far.stderr
