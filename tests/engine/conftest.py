"""Fixtures of the engine tests: one local Spark session and one demo federation per test run.

Spark starts once (a JVM takes 20-25 s): ``local[2]``, two shuffle partitions (a federation of
three practices needs no more), no web UI. The tests that need it skip only when PySpark is
not installed *and* ``FRONTDOOR_REQUIRE_SPARK`` is unset; CI sets it (``.ci/run``), so there a
missing PySpark fails them instead of hiding them.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil

import pytest

REQUIRE_SPARK_ENV = "FRONTDOOR_REQUIRE_SPARK"


@pytest.fixture(scope="session")
def spark():
    """A local Spark session shared by every test of the run, stopped at its end."""
    missing = None
    if importlib.util.find_spec("pyspark") is None:
        missing = "PySpark is not installed (pip install '.[test,spark]')"
    elif not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        missing = "Spark needs Java 17 (apt-get install openjdk-17-jre-headless)"
    if missing:
        if os.environ.get(REQUIRE_SPARK_ENV):
            pytest.fail(f"{missing}, and {REQUIRE_SPARK_ENV} is set")
        pytest.skip(f"{missing}; set {REQUIRE_SPARK_ENV} to require it")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("frontdoor-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def federation(tmp_path_factory):
    """The demo's three practices (Asterisk, 3CX, X-on exports through the real ingest), five
    weeks from Monday 3 March 2025, with their slot exports and registry."""
    from demand.simulation.demo import run_demo
    from telephony.store import open_store

    mp = pytest.MonkeyPatch()
    mp.setenv("FRONTDOOR_KEY", "test-key-not-secret")
    out = tmp_path_factory.mktemp("engine_demo")
    run_demo(out, weeks=5, seed=12, start_date=dt.date(2025, 3, 3))
    yield open_store(out / "store")
    mp.undo()
