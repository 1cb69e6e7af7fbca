"""Forecasts that add up across practices, PCNs and the federation (forecasting.hierarchy)."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from forecasting.hierarchy import (
    HierarchyError,
    aggregate_series,
    backtest_residuals,
    forecast_hierarchy,
    hierarchy_from_registry,
    reconcile,
    same_day_pressure,
    shareable_capacity,
    shrunk_covariance,
    summing_matrix,
)
from tests.forecasting.synthetic import synthetic_series

Z95 = NormalDist().inv_cdf(0.975)
REGISTRY = pd.DataFrame(
    {
        "practice_id": ["B10001", "B10002", "B10003", "B10004", "B10005"],
        "pcn_code": ["U10001", "U10001", "U10002", "U10002", "U10002"],
        "pcn_name": ["North PCN", "North PCN", "South PCN", "South PCN", "South PCN"],
        "federation": ["Test Federation"] * 5,
        "list_size": [6000, 9000, 12000, 4000, 7000],
    }
)


def hier():
    return hierarchy_from_registry(REGISTRY)


def base_forecasts(rng, ids, days=7, noise=0.0):
    """Coherent 'true' means plus optional noise on every node, with intervals."""
    h = hier()
    s = summing_matrix(h).drop(columns="level").to_numpy(float)
    ds = pd.date_range("2026-02-02", periods=days, freq="D")
    bottom = rng.uniform(50, 200, size=(days, s.shape[1]))
    allv = bottom @ s.T + noise * rng.standard_normal((days, s.shape[0]))
    rows = []
    for i, t in enumerate(ds):
        for k, node in enumerate(ids):
            sd = 0.1 * allv[i, k]
            rows.append({"unique_id": node, "ds": t, "mean": allv[i, k], "lo95": allv[i, k] - Z95 * sd, "hi95": allv[i, k] + Z95 * sd})
    return pd.DataFrame(rows), bottom


def test_summing_matrix_has_a_row_per_node_and_sums_practices():
    s = summing_matrix(hier())
    assert s.index.tolist() == ["Test Federation", "U10001", "U10002", "B10001", "B10002", "B10003", "B10004", "B10005"]
    assert s.loc["Test Federation"].drop("level").sum() == 5
    assert s.loc["U10002", ["B10003", "B10004", "B10005"]].tolist() == [1, 1, 1]
    assert s.loc["U10002", ["B10001", "B10002"]].tolist() == [0, 0]


def test_registry_with_two_federations_needs_a_choice():
    reg = pd.concat([REGISTRY, REGISTRY.assign(practice_id="C10001", federation="Other", pcn_code="U20001").head(1)])
    with pytest.raises(HierarchyError, match="give `federation`"):
        hierarchy_from_registry(reg)
    assert len(hierarchy_from_registry(reg, federation="Other")) == 1


def test_aggregate_series_sums_practices_into_pcns_and_federation():
    series = pd.concat([synthetic_series(periods=28, freq="D", uid=p, seed=i) for i, p in enumerate(REGISTRY["practice_id"])])
    allser = aggregate_series(series.drop(columns="expected"), hier())
    wide = allser.pivot(index="ds", columns="unique_id", values="y")
    assert np.allclose(wide["U10001"], wide["B10001"] + wide["B10002"])
    assert np.allclose(wide["Test Federation"], wide[["B10001", "B10002", "B10003", "B10004", "B10005"]].sum(axis=1))


def test_bottom_up_keeps_practices_and_sums_them_with_independent_intervals():
    rng = np.random.default_rng(3)
    ids = summing_matrix(hier()).index.tolist()
    fc, _ = base_forecasts(rng, ids, noise=20.0)
    out = reconcile(fc[fc["unique_id"].str.startswith("B")], hier(), method="bottom_up")
    p = out[out["level"] == "practice"].pivot(index="ds", columns="unique_id", values="mean")
    bottom = fc[fc["unique_id"].str.startswith("B")].pivot(index="ds", columns="unique_id", values="mean").to_numpy()
    assert np.allclose(p.to_numpy(), bottom)
    fed = out[out["level"] == "federation"].set_index("ds")
    assert np.allclose(fed["mean"], bottom.sum(axis=1))
    # Independent errors: the federation's sd is the root of the sum of the practices' variances.
    sd_p = (0.1 * bottom)
    expect = np.sqrt((sd_p**2).sum(axis=1))
    got = (fed["hi95"] - fed["mean"]) / Z95
    assert np.allclose(got.to_numpy(), expect, rtol=1e-6)


def test_mint_leaves_coherent_forecasts_unchanged():
    rng = np.random.default_rng(4)
    ids = summing_matrix(hier()).index.tolist()
    fc, bottom = base_forecasts(rng, ids, noise=0.0)
    resid = pd.DataFrame(rng.standard_normal((40, len(ids))) * 5, columns=ids)
    out = reconcile(fc, hier(), resid, method="mint_shrink")
    p = out[out["level"] == "practice"].pivot(index="ds", columns="unique_id", values="mean")
    assert np.allclose(p.to_numpy(), bottom)


def test_mint_is_the_generalised_least_squares_fit_and_adds_up():
    rng = np.random.default_rng(5)
    h = hier()
    sm = summing_matrix(h)
    ids = sm.index.tolist()
    s = sm.drop(columns="level").to_numpy(float)
    fc, _ = base_forecasts(rng, ids, noise=15.0)
    resid = pd.DataFrame(rng.standard_normal((60, len(ids))) * rng.uniform(2, 20, len(ids)), columns=ids)
    out = reconcile(fc, h, resid, method="mint_shrink")
    w, lam = shrunk_covariance(resid[ids].to_numpy())
    assert out.attrs["shrinkage"] == pytest.approx(lam)
    # GLS by hand: minimise (y - S b)' W^-1 (y - S b) with a Cholesky whitening and lstsq.
    lw = np.linalg.cholesky(np.linalg.inv(w))
    wide = fc.pivot(index="ds", columns="unique_id", values="mean")[ids]
    got = out.pivot(index="ds", columns="unique_id", values="mean")
    for t, y in wide.iterrows():
        b, *_ = np.linalg.lstsq(lw.T @ s, lw.T @ y.to_numpy(), rcond=None)
        assert np.allclose(got.loc[t, ids].to_numpy(), s @ np.clip(b, 0, None), rtol=1e-8)
        # and it adds up
        assert got.loc[t, "U10002"] == pytest.approx(got.loc[t, ["B10003", "B10004", "B10005"]].sum())
        assert got.loc[t, "Test Federation"] == pytest.approx(got.loc[t, ["U10001", "U10002"]].sum())


def test_shrinkage_is_small_for_strongly_correlated_errors_and_large_for_independent():
    rng = np.random.default_rng(6)
    common = rng.standard_normal((200, 1))
    correlated = common + 0.2 * rng.standard_normal((200, 6))
    _, lam_c = shrunk_covariance(correlated)
    _, lam_i = shrunk_covariance(rng.standard_normal((200, 6)))
    assert lam_c < 0.05
    assert lam_i > 0.5
    with pytest.raises(HierarchyError, match="too few"):
        shrunk_covariance(np.ones((2, 3)))


def test_mint_needs_residuals_and_every_node():
    rng = np.random.default_rng(7)
    ids = summing_matrix(hier()).index.tolist()
    fc, _ = base_forecasts(rng, ids)
    with pytest.raises(HierarchyError, match="needs `residuals`"):
        reconcile(fc, hier(), None, method="mint_shrink")
    with pytest.raises(HierarchyError, match="U10001"):
        reconcile(fc[fc["unique_id"] != "U10001"], hier(), None, method="mint_shrink")
    with pytest.raises(HierarchyError, match="unknown reconciliation"):
        reconcile(fc, hier(), None, method="topdown")


def test_forecast_hierarchy_end_to_end_adds_up_and_scores_methods():
    sizes = dict(zip(REGISTRY["practice_id"], [60.0, 90.0, 120.0, 40.0, 70.0]))
    series = pd.concat(
        [synthetic_series(start="2025-06-02", periods=140, freq="D", per_day=v, day_sd=0.08, uid=p, seed=i)
         for i, (p, v) in enumerate(sizes.items())]
    ).drop(columns="expected")
    res = forecast_hierarchy(series, hier(), model="seasonal_average", h=7, n_windows=6)
    assert set(res.reconciled) == {"bottom_up", "mint_shrink"}
    for meth, out in res.reconciled.items():
        wide = out.pivot(index="ds", columns="unique_id", values="mean")
        assert np.allclose(wide["Test Federation"], wide[list(sizes)].sum(axis=1)), meth
        assert (out["lo80"] <= out["mean"] + 1e-9).all() and (out["hi95"] >= out["hi80"] - 1e-9).all()
        assert (out["mean"] >= 0).all()
    sc = res.scores.pivot(index="method", columns="level", values="mae")
    # A seasonal average of sums is the sum of seasonal averages: the base forecasts already add
    # up, so every method gives them back, in the forecast and in every backtest window.
    assert np.allclose(sc.loc["mint_shrink"], sc.loc["base"]) and np.allclose(sc.loc["bottom_up"], sc.loc["base"])
    mint = res.reconciled["mint_shrink"]
    assert np.allclose(mint["mean"], mint["base"])
    assert len(res.residuals) >= 20


def _pressure(rows):
    return pd.DataFrame(rows, columns=["date", "session", "demand", "capacity", "p_exceed", "expected_shortfall", "extra_sessions"])


def test_shareable_capacity_offers_spare_slots_within_the_pcn_only():
    day = pd.Timestamp("2026-02-02")
    pressure = {
        "B10001": _pressure([(day, "am", 14.0, 10.0, 0.85, 4.3, 1), (day, "pm", 5.0, 8.0, 0.05, 0.1, 0)]),
        "B10002": _pressure([(day, "am", 6.0, 12.0, 0.02, 0.04, 0), (day, "pm", 6.0, 6.0, 0.4, 1.0, 0)]),
        "B10003": _pressure([(day, "am", 2.0, 20.0, 0.0, 0.0, 0)]),  # another PCN: not offered
    }
    share = shareable_capacity(pressure, hier())
    am = share[share["session"] == "am"].iloc[0]
    assert am["pcn_code"] == "U10001" and am["short"] == "B10001"
    # E[(C - D)+] = 12 - 6 + 0.04 = 6.04; one slot kept back -> 5 whole slots.
    assert am["spare_slots"] == 5 and am["offering"] == "B10002 (5)"
    assert am["shareable"] == 5 and am["uncovered"] == 0.0
    pm = share[share["session"] == "pm"].iloc[0]
    assert pm["short"] == "B10002" and pm["spare_slots"] == 2 and pm["shareable"] == 1
    summary = same_day_pressure(pressure).set_index("practice_id")
    assert summary.loc["B10001", "sessions_under_pressure"] == 1
    assert summary.loc["B10001", "worst_session"] == "am"
    assert summary.loc["B10003", "expected_spare"] == pytest.approx(18.0)


def test_outlook_results_feed_the_reconciliation_and_the_sharing():
    from forecasting.outlook import CallsForecast, SessionPressure, WeekOutlook
    from forecasting.hierarchy import outlook_forecasts, outlook_pressure

    rng = np.random.default_rng(8)
    ids = summing_matrix(hier()).index.tolist()
    fc, _ = base_forecasts(rng, ids)
    day = pd.Timestamp("2026-02-02")
    outlooks = {}
    for pid in REGISTRY["practice_id"]:
        f = fc[fc["unique_id"] == pid].drop(columns="unique_id").assign(closed=False)
        pp = _pressure([(day, "am", 8.0, 10.0, 0.2 if pid == "B10001" else 0.01, 0.5, 0)])
        outlooks[pid] = WeekOutlook({"D": CallsForecast("D", f)}, {}, None, None, SessionPressure(pp))
    outlooks["B10005"].pressure = None  # no slots: left out of the sharing
    got = reconcile(outlook_forecasts(outlooks), hier(), method="bottom_up")
    assert set(got["unique_id"]) == set(ids)
    assert sorted(outlook_pressure(outlooks)) == ["B10001", "B10002", "B10003", "B10004"]
    outlooks["B10002"].calls["D"] = CallsForecast("D", None, error=ValueError("too short"))
    with pytest.raises(HierarchyError, match="B10002.*too short"):
        outlook_forecasts(outlooks)


def test_backtest_residuals_leave_closed_periods_out_and_keep_common_periods():
    ds = pd.date_range("2026-02-02", periods=7, freq="D")
    rows = []
    for uid, bias in (("B10001", 1.0), ("U10001", -2.0)):
        for i, t in enumerate(ds):
            closed = t.day_of_week >= 5
            rows.append({"unique_id": uid, "cutoff": ds[0] - pd.Timedelta(days=1), "ds": t, "y": 0.0 if closed else 10.0 + i,
                         "yhat": 0.0 if closed else 10.0 + i - bias, "closed": closed, "model": "m"})
    cv = pd.DataFrame(rows)
    r = backtest_residuals(cv.drop(index=0))  # B10001's Monday missing: not a common period
    assert len(r) == 4 and list(r.columns) == ["B10001", "U10001"]
    assert (r["B10001"] == 1.0).all() and (r["U10001"] == -2.0).all()
    with pytest.raises(HierarchyError, match="several models"):
        backtest_residuals(pd.concat([cv, cv.assign(model="other")]))
