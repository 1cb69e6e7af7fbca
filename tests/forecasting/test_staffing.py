"""Staffing from forecasts: handle time and patience by hand, handlers per interval, the check in
the queue simulation with redials (the 8am rush), and clinician sessions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from demand.simulation.engine import QueueParams
from demand.simulation.population import DemandParams, PracticeParams
from forecasting.planning.erlang import erlang_a_metrics, erlang_c_agents
from forecasting.planning.staffing import (
    SERVICE_COLUMNS,
    SESSION_COLUMNS,
    STAFFING_COLUMNS,
    StaffingError,
    check_rota_with_redials,
    clinician_sessions,
    forecast_column,
    handlers_per_interval,
    measure_handling,
)

MONDAY = pd.Timestamp("2027-01-11")


def _calls(rows):
    return pd.DataFrame(rows, columns=["direction", "outcome", "wait_s", "talk_s"])


# ============================================================================ handling


def test_measure_handling_by_hand():
    calls = _calls(
        [
            ("inbound", "answered", 10.0, 100.0),
            ("inbound", "answered", 20.0, 200.0),
            ("inbound", "answered", 30.0, 300.0),
            ("inbound", "abandoned", 40.0, 0.0),
            ("inbound", "abandoned", 5.0, 0.0),
            ("inbound", "callback", 60.0, 0.0),
            ("inbound", "missed", 1800.0, 0.0),
            ("inbound", "ivr_abandoned", np.nan, 0.0),  # never queued: not in the patience sample
            ("inbound", "closed", np.nan, 0.0),
            ("outbound", "answered", 15.0, 900.0),  # a call-back made: not an inbound handle time
        ]
    )
    h = measure_handling(calls, wrap_s=20.0)
    assert h.mean_talk_s == pytest.approx(200.0)
    assert h.aht_s == pytest.approx(220.0)
    # Every queued wait is exposure (abandons are events, the rest censored): 1965 s, 2 events.
    assert (h.queued, h.abandons, h.exposure_s) == (7, 2, pytest.approx(1965.0))
    assert h.mean_patience_s == pytest.approx(1965.0 / 2)
    assert h.patience_se_s == pytest.approx(1965.0 / 2 / math.sqrt(2))
    # Averaging only the abandoners' waits would say 22.5 s: the censored callers matter.
    balk = measure_handling(calls, short_abandon_s=10.0)  # the 5 s hang-up is balking
    assert (balk.queued, balk.abandons) == (6, 1)
    assert balk.mean_patience_s == pytest.approx(1960.0)


def test_measure_handling_with_no_abandons_and_bad_input():
    calls = _calls([("inbound", "answered", 10.0, 100.0)])
    assert measure_handling(calls).mean_patience_s == math.inf
    with pytest.raises(StaffingError, match="no answered"):
        measure_handling(_calls([("inbound", "abandoned", 10.0, 0.0)]))
    with pytest.raises(StaffingError, match="talk_s"):
        measure_handling(calls.drop(columns="talk_s"))


def test_measure_handling_patience_is_the_censored_maximum_likelihood():
    # Exponential patience of mean 200 s against offered waits of mean 100 s: a caller abandons
    # when patience runs out first. Most callers are answered (censored); the estimate still
    # finds 200 s, where the mean wait of abandoners alone (about 67 s) is far off.
    rng = np.random.default_rng(11)
    n = 20000
    patience = rng.exponential(200.0, n)
    offered = rng.exponential(100.0, n)
    abandoned = patience < offered
    calls = pd.DataFrame(
        {
            "direction": "inbound",
            "outcome": np.where(abandoned, "abandoned", "answered"),
            "wait_s": np.minimum(patience, offered),
            "talk_s": np.where(abandoned, 0.0, 150.0),
        }
    )
    h = measure_handling(calls)
    assert h.abandons == int(abandoned.sum())
    assert h.mean_patience_s == pytest.approx(200.0, rel=0.04)
    assert abs(h.mean_patience_s - 200.0) < 3 * h.patience_se_s
    assert calls.loc[abandoned, "wait_s"].mean() < 80.0


# ============================================================================ forecast columns


def _model_forecast():
    ds = pd.date_range(MONDAY + pd.Timedelta(hours=8), periods=4, freq="30min")
    return pd.DataFrame(
        {
            "unique_id": "A81001",
            "ds": ds,
            "SeasonalAvg": [10.0, 6.0, 0.0, 2.0],
            "SeasonalAvg-lo-80": [6.0, 3.0, 0.0, 0.5],
            "SeasonalAvg-hi-80": [14.0, 9.0, 0.0, 4.0],
            "SeasonalAvg-lo-95": [4.0, 2.0, 0.0, 0.1],
            "SeasonalAvg-hi-95": [17.0, 11.0, 0.0, 5.0],
        }
    )


def test_forecast_column_picks_point_and_quantiles():
    fc = _model_forecast()
    assert forecast_column(fc) == "SeasonalAvg"
    assert forecast_column(fc, 0.9) == "SeasonalAvg-hi-80"
    assert forecast_column(fc, 0.975) == "SeasonalAvg-hi-95"
    assert forecast_column(fc, 0.1) == "SeasonalAvg-lo-80"
    with pytest.raises(StaffingError, match="hi-90"):
        forecast_column(fc, 0.95)
    with pytest.raises(StaffingError, match="column="):
        forecast_column(fc.assign(Other=1.0))
    assert forecast_column(fc.assign(Other=1.0), column="Other") == "Other"


# ============================================================================ handlers per interval


def test_handlers_per_interval_worked_example_and_shrinkage():
    fc = pd.DataFrame({"ds": [MONDAY + pd.Timedelta(hours=8)], "calls": [100.0]})
    out = handlers_per_interval(fc, 180, target_t_s=20, model="erlang_c", shrinkage=0.3)
    assert list(out.columns) == list(STAFFING_COLUMNS)
    row = out.iloc[0]
    assert row["agents"] == 14
    assert row["rostered"] == 20  # 14 / 0.7 is 20.000000000000004 in floats: still 20 people
    assert row["load_erlangs"] == pytest.approx(10.0)
    assert row["service_level"] == pytest.approx(0.8884, abs=5e-5)
    assert row["abandon_rate"] == 0.0
    # The same load given hourly.
    hourly = handlers_per_interval(fc.assign(calls=200.0), 180, target_t_s=20, model="erlang_c", interval="h")
    assert hourly["agents"].iloc[0] == 14
    assert handlers_per_interval(fc, 180, target_t_s=20, model="erlang_c", shrinkage=0.35)["rostered"].iloc[0] == 22


def test_handlers_per_interval_erlang_a_meets_targets_per_row():
    fc = _model_forecast()
    out = handlers_per_interval(fc, 170, 200, target_sl=0.8, target_t_s=60, max_abandon=0.05, shrinkage=0.25)
    assert list(out.columns) == ["unique_id", *STAFFING_COLUMNS]
    assert out["calls"].tolist() == [10.0, 6.0, 0.0, 2.0]
    open_ = out["calls"] > 0
    assert (out.loc[open_, "service_level"] >= 0.8).all() and (out.loc[open_, "abandon_rate"] <= 0.05).all()
    for _, r in out[open_].iterrows():
        if r["agents"] > 1:
            less = erlang_a_metrics(int(r["agents"]) - 1, r["calls"], 1800, 170, 200, 60)
            assert less.service_level < 0.8 or less.p_abandon > 0.05
    # A closed interval (forecast 0) needs nobody and has no service figures.
    closed = out[~open_].iloc[0]
    assert (closed["agents"], closed["rostered"]) == (0, 0) and np.isnan(closed["service_level"])
    assert (out["rostered"] == np.ceil(out["agents"] / 0.75 - 1e-9)).all()
    # Staffing the 80% interval's upper bound needs at least as many as the point forecast.
    upper = handlers_per_interval(fc, 170, 200, quantile=0.9)
    assert (upper["agents"] >= out["agents"]).all() and upper["agents"].sum() > out["agents"].sum()
    assert upper["calls"].tolist() == [14.0, 9.0, 0.0, 4.0]


def test_handlers_per_interval_bad_arguments():
    fc = _model_forecast()
    with pytest.raises(StaffingError, match="patience_s"):
        handlers_per_interval(fc, 170)
    with pytest.raises(StaffingError, match="shrinkage"):
        handlers_per_interval(fc, 170, 200, shrinkage=30)
    with pytest.raises(StaffingError, match="model"):
        handlers_per_interval(fc, 170, 200, model="erlang_x")
    with pytest.raises(StaffingError, match="15min, 30min or h"):
        handlers_per_interval(fc, 170, 200, interval="D")
    with pytest.raises(StaffingError, match="target_sl"):
        handlers_per_interval(fc, 170, 200, target_sl=80)


# ============================================================================ the check with redials


def _first_attempts_monday(list_size: int = 9000) -> pd.DataFrame:
    """A Monday's expected first attempts per half-hour, shaped like the demo's demand."""
    d = DemandParams()
    w = np.asarray(d.intraday_weights)
    per_day = list_size * d.weekly_rate * d.weekday_weights[0] / sum(d.weekday_weights)
    ds = MONDAY + pd.to_timedelta(480 + 30 * np.arange(len(w)), unit="min")
    return pd.DataFrame({"ds": ds, "calls": per_day * w / w.sum()})


def _demo_aht(q: QueueParams) -> float:
    """Mean handle time of the demo's calls: lognormal talk (admin calls shorter) plus wrap-up."""
    mix = DemandParams().need_mix_later
    admin = (mix[2] + mix[3]) / sum(mix)
    return q.handle_median_s * math.exp(q.handle_sigma**2 / 2) * (1 - admin + admin * q.admin_factor) + q.wrap_s


def test_check_rota_counts_are_consistent():
    fc = _first_attempts_monday()
    rota = pd.DataFrame({"ds": fc["ds"], "agents": 6})
    out = check_rota_with_redials(rota, fc, PracticeParams(), seeds=(0, 1))
    assert list(out.columns) == list(SERVICE_COLUMNS)
    assert len(out) == 21 and (out["runs"] == 2).all()
    # Queue counts add up; every offered call was made by someone who rang in the interval.
    total = out["answered"] + out["abandoned"] + out["callbacks"] + out["missed"]
    assert np.allclose(total, out["offered"])
    assert (out["attempts"] >= out["offered"]).all() and (out["attempts"] >= out["unique_callers"]).all()
    assert out["first_attempts"].sum() == pytest.approx(fc["calls"].sum(), rel=0.15)
    # Six handlers all day: quiet afternoons are served at once and nobody redials much.
    late = out[out["ds"].dt.hour >= 14]
    assert (late["service_level"] > 0.95).all()
    assert late["attempts"].sum() / late["unique_callers"].sum() < 1.1  # IVR hang-ups still redial


def test_erlang_c_falls_short_at_8am_with_redials():
    q = QueueParams()
    practice = PracticeParams(list_size=9000)
    fc = _first_attempts_monday(9000)
    aht = _demo_aht(q)
    rota = handlers_per_interval(fc, aht, target_sl=0.8, target_t_s=60, model="erlang_c")
    eight = rota["ds"] == MONDAY + pd.Timedelta(hours=8)
    # Erlang C, fed the forecast of first attempts, promises the target at 08:00...
    assert rota.loc[eight, "service_level"].iloc[0] >= 0.8
    assert rota.loc[eight, "agents"].iloc[0] == erlang_c_agents(fc["calls"].iloc[0], 1800, aht, 0.8, 60)
    seeds = (0, 1, 2)
    checked = check_rota_with_redials(rota, fc, practice, seeds=seeds, target_t_s=60)
    first = checked.iloc[0]
    # ...but the simulation, where the rush arrives at the stroke of eight and failed callers
    # redial, answers far fewer in time, and the redials show.
    assert first["service_level"] < 0.6
    assert first["abandonment_rate"] > 0.15
    assert first["redial_ratio"] > 1.2
    # More handlers at eight answer more in time, with the same callers.
    more = check_rota_with_redials(rota.assign(agents=np.where(eight, rota["agents"] + 4, rota["agents"])), fc, practice,
                                   seeds=seeds, target_t_s=60)
    assert more.iloc[0]["service_level"] > first["service_level"]


def test_check_rota_same_seeds_same_callers_and_grid_checks():
    fc = _first_attempts_monday(6000)
    rota = pd.DataFrame({"ds": fc["ds"], "agents": 3})
    a = check_rota_with_redials(rota, fc, seeds=(4,))
    b = check_rota_with_redials(rota.assign(agents=5), fc, seeds=(4,))
    assert a["first_attempts"].tolist() == b["first_attempts"].tolist()  # same callers
    assert b["service_level"].iloc[0] >= a["service_level"].iloc[0]
    off_grid = fc.assign(ds=fc["ds"] + pd.Timedelta(minutes=15))
    with pytest.raises(StaffingError, match="rota grid"):
        check_rota_with_redials(rota, off_grid, seeds=(0,))
    with pytest.raises(StaffingError, match="seed"):
        check_rota_with_redials(rota, fc, seeds=())


# ============================================================================ clinician sessions


def test_clinician_sessions_rule_by_hand():
    fc = pd.DataFrame(
        {
            "unique_id": "A81001",
            "ds": pd.to_datetime(["2027-01-11", "2027-01-12", "2027-01-16"]),
            "SameDay": [100.0, 36.0, 0.0],
            "SameDay-lo-80": [80.0, 30.0, 0.0],
            "SameDay-hi-80": [125.0, 45.0, 0.0],
        }
    )
    out = clinician_sessions(fc, {"GP": 18, "ANP": 12}, {"GP": 7, "ANP": 3})  # shares normalised
    assert list(out.columns) == ["unique_id", *SESSION_COLUMNS]
    mon = out[out["ds"] == "2027-01-11"].set_index("role")
    assert mon.loc["GP", "demand"] == pytest.approx(70.0) and mon.loc["GP", "sessions"] == 4  # 70 / 18 = 3.9
    assert mon.loc["ANP", "sessions"] == 3  # 30 / 12 = 2.5
    assert mon.loc["GP", "capacity"] == 72
    tue = out[out["ds"] == "2027-01-12"].set_index("role")
    assert tue.loc["GP", "demand"] == pytest.approx(25.2) and tue.loc["GP", "sessions"] == 2
    sat = out[out["ds"] == "2027-01-16"]
    assert (sat["sessions"] == 0).all()
    # Exact multiples are not rounded up by float noise; the 80% upper bound needs more.
    exact = clinician_sessions(fc.iloc[[1]], 18, {"GP": 1})
    assert exact["sessions"].tolist() == [2]
    upper = clinician_sessions(fc, {"GP": 18, "ANP": 12}, {"GP": 0.7, "ANP": 0.3}, quantile=0.9)
    assert upper["sessions"].sum() > out["sessions"].sum()
    assert (upper.groupby("ds")["capacity"].sum() >= fc.set_index("ds")["SameDay-hi-80"]).all()


def test_clinician_sessions_bad_arguments():
    fc = pd.DataFrame({"ds": pd.to_datetime(["2027-01-11"]), "demand": [10.0]})
    with pytest.raises(StaffingError, match="unknown role"):
        clinician_sessions(fc, 18, {"Doctor": 1.0})
    with pytest.raises(StaffingError, match="slots_per_session has no value"):
        clinician_sessions(fc, {"GP": 18}, {"GP": 0.5, "ANP": 0.5})
    with pytest.raises(StaffingError, match="positive"):
        clinician_sessions(fc, 0, {"GP": 1.0})
