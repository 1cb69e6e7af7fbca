"""The engine: one per-practice function, the same results from the process pool and Spark."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from demand.metrics import read_metrics
from telephony.engine import EngineError, map_practices, read_practice_frames
from tests.engine.work import describe_frames, fails_for, next_week_forecast

PRACTICES = ["A81001", "A81002", "A81003"]
# The demo's five weeks run 3 March to 6 April 2025; the clocks go forward on 30 March.
FIRST, LAST = "2025-03-03", "2025-04-06"
PERIOD = ("2025-03-10", "2025-03-31")  # local midnights, end excluded


# ----------------------------------------------------------------------------- local engine


def test_local_frames_are_the_practice_rows_of_the_period_sorted_with_names_as_the_store_reads(federation):
    frames = map_practices(describe_frames, federation, engine="local", workers=2, period=PERIOD)
    assert list(frames["practice_id"]) == PRACTICES
    calls = federation.read_calls(PRACTICES, *PERIOD)
    for pid, got in frames.groupby("practice_id"):
        want = calls[calls["practice_id"] == pid]
        row = got.iloc[0]
        assert row["rows"] == len(want) > 500
        assert row["first_time"] >= pd.Timestamp(PERIOD[0], tz="Europe/London")
        assert row["last_time"] < pd.Timestamp(PERIOD[1], tz="Europe/London")
        # the same rows as Store.read_calls, in the same order (ties broken by call id)
        local = read_practice_frames(federation.root, pid, period=PERIOD)["calls"]
        pd.testing.assert_frame_equal(
            local.reset_index(drop=True),
            want.sort_values(["start_utc", "call_id"], kind="stable").reset_index(drop=True),
        )


def test_one_worker_and_two_give_the_same_metrics_as_measuring_all_practices_at_once(federation):
    whole = read_metrics(federation, "queue", None, FIRST, LAST)
    for workers in (1, 2):
        got = read_metrics(federation, "queue", None, FIRST, LAST, engine="local", workers=workers)
        pd.testing.assert_frame_equal(got, whole, check_exact=True)
    assert set(whole["practice_id"]) == set(PRACTICES) and whole["offered"].sum() > 5000


def test_columns_are_read_as_asked_and_practices_without_rows_are_not_called(federation):
    seen = map_practices(
        describe_frames, federation, ["A81002", "A81001"], engine="local", workers=1,
        columns={"calls": ["start_utc", "outcome"]}, period=PERIOD,
    )
    assert list(seen["practice_id"]) == ["A81001", "A81002"]
    assert set(seen["columns"]) == {"practice_id,start_utc,outcome"}
    # before the demo's first call: nobody has rows, nobody is called
    empty = map_practices(describe_frames, federation, engine="local", workers=2, period=("2024-01-01", "2024-02-01"))
    assert empty.empty and list(empty.columns) == ["practice_id"]


def test_progress_is_reported_once_per_practice(federation):
    said = []
    map_practices(describe_frames, federation, engine="local", workers=2, period=PERIOD,
                  progress=lambda pid, done, total: said.append((pid, done, total)))
    assert sorted(p for p, _d, _t in said) == PRACTICES
    assert [d for _p, d, _t in said] == [1, 2, 3] and {t for _p, _d, t in said} == {3}


def test_a_failing_practice_stops_the_run_and_is_named(federation):
    with pytest.raises(ValueError, match="not what the work expects") as info:
        map_practices(fails_for, federation, engine="local", workers=2, period=PERIOD, bad="A81002")
    assert "A81002" in "".join(getattr(info.value, "__notes__", []))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"engine": "dask"}, "Unknown engine 'dask': use one of local, spark"),
        ({"workers": 0}, "`workers` must be 1 or more"),
        ({"tables": ()}, "at least one store table"),
        ({"engine": "spark", "tables": ("calls", "appointments", "gpad")}, "at most two tables"),
    ],
)
def test_engine_arguments_that_cannot_run_say_why(federation, kwargs, message):
    with pytest.raises(EngineError, match=message):
        map_practices(describe_frames, federation, **kwargs)


def test_the_spark_engine_without_pyspark_says_how_to_install_it(federation, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineError, match=r"pip install 'frontdoor-analytics\[spark\]'"):
        map_practices(describe_frames, federation, engine="spark")


# ----------------------------------------------------------------------------- both engines


def test_both_engines_give_the_function_the_same_frames(federation, spark):
    kw = dict(tables=("calls", "appointments"), period=PERIOD)
    local = map_practices(describe_frames, federation, engine="local", workers=2, **kw)
    remote = map_practices(describe_frames, federation, engine="spark", **kw)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    assert set(local["table"]) == {"calls", "appointments"} and (local["rows"] > 0).all()


@pytest.mark.parametrize(
    "kind, options",
    [
        ("queue", {}),  # per practice per day
        ("queue", {"freq": "hour", "by_line": True}),
        ("callers", {}),
        ("nhs", {}),
        ("pressure", {}),  # calls and slots: Spark's cogroup
    ],
)
def test_spark_gives_exactly_the_local_engines_metrics(federation, spark, kind, options):
    local = read_metrics(federation, kind, None, FIRST, LAST, engine="local", workers=2, **options)
    remote = read_metrics(federation, kind, None, FIRST, LAST, engine="spark", **options)
    assert set(local["practice_id"]) == set(PRACTICES)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)


def test_spark_gives_the_local_engines_forecasts_to_a_millionth(federation, spark):
    kw = dict(model="ets", start="2025-03-03", end="2025-04-07", period=("2025-03-03", "2025-04-07"))
    local = map_practices(next_week_forecast, federation, engine="local", workers=2, **kw)
    remote = map_practices(next_week_forecast, federation, engine="spark", **kw)
    assert list(remote.columns) == list(local.columns)
    assert len(local) == 3 * 24 * 7 and list(local["practice_id"].unique()) == PRACTICES
    pd.testing.assert_frame_equal(remote[["practice_id", "ds"]], local[["practice_id", "ds"]])
    values = [c for c in local.columns if c not in ("practice_id", "ds")]
    assert values and local[values].to_numpy().max() > 1  # a real forecast, not zeros
    np.testing.assert_allclose(remote[values].to_numpy(float), local[values].to_numpy(float), rtol=0, atol=1e-6)


def test_the_metrics_command_prints_the_same_table_on_either_engine(federation, spark):
    import cli

    args = ["metrics", "queue", "--store", str(federation.root), "--from", "2025-03-10", "--to", "2025-03-16",
            "--format", "json"]
    env = {"FRONTDOOR_KEY": "test-key-not-secret"}
    local = CliRunner().invoke(cli.main, args + ["--engine", "local", "--workers", "2"], env=env)
    remote = CliRunner().invoke(cli.main, args + ["--engine", "spark"], env=env)
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    rows = json.loads(local.stdout)
    assert len(rows) == 3 * 7 and json.loads(remote.stdout) == rows


def test_a_damaged_partition_is_the_stores_damage_named_by_path_on_the_local_engine(store, data_dir):
    from telephony.errors import StoreDamagedError
    from telephony.ingest import ingest_file

    ingest_file(store, data_dir / "asterisk_queue_log" / "queue_log", "A81001")
    (_, _, part), *_ = store.partitions()
    part.write_bytes(b"PAR1 this is not a parquet file")
    with pytest.raises(StoreDamagedError, match=f"store damaged at {part}"):
        map_practices(describe_frames, store, engine="local", workers=1)
