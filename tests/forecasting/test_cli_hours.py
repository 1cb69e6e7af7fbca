"""``frontdoor backtest | forecast`` on series that are not English GP practices."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from demand.simulation.shapes import always_open_night_trough, weekday_gp_with_gaps
from forecasting.backtest import backtest, summarise
from forecasting.models import make_model
from forecasting.pipeline import read_practice_series


def invoke(*args):
    res = CliRunner().invoke(main, [*args])
    assert res.exit_code == 0, res.output
    return res


def test_done_when_a_24_7_series_scores_28_windows_and_every_period(tmp_path):
    path = tmp_path / "arrivals.csv"
    always_open_night_trough(seed=8, weeks=9, freq="30min").frame.to_csv(path, index=False)
    res = invoke("backtest", "--input", str(path), "--freq", "30min", "--horizon", "48", "--windows", "28",
                 "--format", "csv")
    table = pd.read_csv(io.StringIO(res.stdout))
    assert sorted(table["model"]) == sorted(["seasonal_naive", "seasonal_average", "ets", "auto"])
    assert (table["windows"] == 28).all() and (table["n"] == 28 * 48).all()
    assert "opening hours learned from the last 4 weeks with data: always" in res.stderr
    assert "bank holidays: none" in res.stderr
    assert "skipped" not in res.stderr and "left out" not in res.stderr


def test_a_window_with_nothing_to_score_is_named_with_the_reason(tmp_path):
    shape = weekday_gp_with_gaps(seed=2, n_gaps=0)
    path = tmp_path / "gp.csv"
    shape.frame.to_csv(path, index=False)
    df, cals = read_practice_series(input_file=path, freq="30min")
    daily = df.assign(ds=df["ds"].dt.normalize()).groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    _, dcals = read_practice_series(input_file=_save(daily, tmp_path / "gpd.csv"), freq="D")
    res = backtest(daily.assign(unique_id="gpd"), {"seasonal_naive": make_model("seasonal_naive", calendar=dcals)},
                   h=1, n_windows=7, calendar=dcals)
    table = summarise(res)
    assert int(table["windows"].iloc[0]) == 5  # seven one-day windows, two of them a weekend
    notes = table.attrs["notes"]
    skipped = [n for n in notes if "skipped" in n]
    assert len(skipped) == 2 and all("none of its 1 periods could be scored (1 closed)" in n for n in skipped)
    assert any("5 of 7 periods scored over 5 of 7 windows; left out: 2 closed" in n for n in notes)


def _save(df, path):
    df[["ds", "y"]].to_csv(path, index=False)
    return path


def test_cli_calendar_options_change_the_forecast(tmp_path):
    shape = always_open_night_trough(seed=9, weeks=8, start="2025-10-27")  # to Sunday 21 December
    path = tmp_path / "ed.csv"
    shape.frame.to_csv(path, index=False)
    closures = tmp_path / "shut.txt"
    closures.write_text("2025-12-23 13:00-18:00\n")

    def forecast(*extra):
        res = invoke("forecast", "--input", str(path), "--freq", "hour", "--horizon", "1w", "--model", "seasonal_average",
                     "--format", "csv", *extra)
        return pd.read_csv(io.StringIO(res.stdout), parse_dates=["ds"]).set_index("ds")["SeasonalAverage"], res.stderr

    plain, err = forecast()
    assert (plain > 0).all() and "bank holidays: none" in err
    hol, err = forecast("--holidays", "england")
    christmas = hol.index.normalize().isin(pd.to_datetime(["2025-12-25", "2025-12-26"]))
    assert (hol[christmas] == 0).all() and (hol[~christmas] > 0).all() and "England's, closed" in err
    shut, err = forecast("--closures", str(closures))
    plt = (shut.index >= "2025-12-23 13:00") & (shut.index < "2025-12-23 18:00")
    assert (shut[plt] == 0).all() and plt.sum() == 5 and (shut[~plt] > 0).all()
    # stated hours do not close demand the data shows, and the output says so
    stated, err = forecast("--open-hours", "Mon-Fri 08:00-18:30")
    assert (stated > 0).all() and "--open-hours" in err and "kept open" in err


def test_cli_calendar_option_errors_are_one_line(tmp_path):
    path = tmp_path / "ed.csv"
    always_open_night_trough(seed=1, weeks=5).frame.to_csv(path, index=False)
    bad = tmp_path / "bad.txt"
    bad.write_text("someday\n")
    for extra, fragment in (
        (["--open-hours", "weekdays"], "Cannot read opening hours"),
        (["--closures", str(bad)], "bad.txt: line 1 ('someday') is not a closure"),
        (["--holidays", "france"], "Invalid value for '--holidays'"),
    ):
        res = CliRunner().invoke(main, ["forecast", "--input", str(path), "--freq", "hour", "--model", "seasonal_naive",
                                        *extra])
        assert res.exit_code != 0 and fragment in res.output, res.output
        assert "Traceback" not in res.output


@pytest.mark.parametrize("command", ["forecast", "backtest"])
def test_help_names_the_calendar_options(command):
    res = invoke(command, "--help")
    for flag in ("--open-hours", "--holidays", "--closures"):
        assert flag in res.output
